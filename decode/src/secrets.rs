//! Credentials reduced to what is safe to show: where they were, what kind they look like, and
//! a short fingerprint. The secret itself never leaves this module.

use aisensor_event::payload::Credential;
use sha2::{Digest, Sha256};

/// Request headers that carry API credentials, lower-case.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    // AWS: the session token that comes with temporary SigV4 credentials.
    "x-amz-security-token",
];

/// Reduces the credential in header `source` to a kind and fingerprint.
pub fn credential(source: &str, value: &str) -> Credential {
    let value = value.trim();
    let (scheme, secret) = match value.split_once(' ') {
        Some((s, rest)) if source.ends_with("authorization") => {
            (s.to_ascii_lowercase(), rest.trim())
        }
        _ => (String::new(), value),
    };
    if scheme == "aws4-hmac-sha256" {
        // The signature changes with every request; the access key id names the key. It is
        // fingerprinted like any secret: an id is half of a credential pair.
        let key_id = sigv4_access_key_id(secret).unwrap_or(secret);
        return Credential {
            source: source.to_string(),
            kind: "aws_sigv4".into(),
            fingerprint: fingerprint(key_id),
        };
    }
    let kind = if source == "x-amz-security-token" {
        "aws_session_token"
    } else {
        kind_of(&scheme, secret)
    };
    Credential {
        source: source.to_string(),
        kind: kind.to_string(),
        fingerprint: fingerprint(secret),
    }
}

/// `AKIA...` of `Credential=AKIA.../20261202/us-east-1/bedrock/aws4_request, SignedHeaders=...`.
fn sigv4_access_key_id(params: &str) -> Option<&str> {
    params
        .split(',')
        .find_map(|p| p.trim().strip_prefix("Credential="))
        .and_then(|c| c.split('/').next())
        .filter(|id| !id.is_empty())
}

/// Key formats by the prefix their issuers publish, longest prefixes first: (prefix, kind,
/// the length under which a token with that prefix in free text is not taken for a key).
const KEY_FORMATS: &[(&str, &str, usize)] = &[
    ("sk-ant-", "anthropic_api_key", 40),
    ("sk-proj-", "openai_api_key", 40),
    ("sk-svcacct-", "openai_api_key", 40),
    ("sk-or-", "openrouter_api_key", 40),
    ("sk-", "openai_api_key", 40),
    ("AIza", "google_api_key", 39),
    ("gsk_", "groq_api_key", 40),
    ("xai-", "xai_api_key", 40),
    ("hf_", "huggingface_token", 30),
    // AWS access key ids: long-term (AKIA) and temporary (ASIA), 20 characters.
    ("AKIA", "aws_access_key_id", 20),
    ("ASIA", "aws_access_key_id", 20),
    ("github_pat_", "github_token", 50),
    ("ghp_", "github_token", 40),
    ("gho_", "github_token", 40),
    ("ghu_", "github_token", 40),
    ("ghs_", "github_token", 40),
    ("ghr_", "github_token", 40),
    ("glpat-", "gitlab_token", 26),
    ("xoxb-", "slack_token", 24),
    ("xoxp-", "slack_token", 24),
    ("xoxa-", "slack_token", 24),
    ("xoxr-", "slack_token", 24),
    ("sk_live_", "stripe_secret_key", 24),
    ("rk_live_", "stripe_secret_key", 24),
    ("npm_", "npm_token", 40),
];

/// The shortest key of [`KEY_FORMATS`].
const MIN_KEY_LEN: usize = 20;

/// The bytes keys are made of.
const TOKEN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        i += 1;
    }
    t
};

fn key_format(token: &str) -> Option<(&'static str, usize)> {
    KEY_FORMATS
        .iter()
        .find(|(p, _, _)| token.starts_with(p))
        .map(|&(_, kind, min)| (kind, min))
}

fn kind_of(scheme: &str, secret: &str) -> &'static str {
    if let Some((kind, _)) = key_format(secret) {
        return kind;
    }
    match scheme {
        "bearer" => "bearer_token",
        "basic" => "basic_auth",
        "" => "api_key",
        _ => "other",
    }
}

/// Words whose value, after `=` or `:`, is a secret (`password=...`, `"api_key": "..."`,
/// `X-Amz-Signature=...`, `AWS_SECRET_ACCESS_KEY=...`), lower-case.
const SECRET_NAMES: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "signature",
];

/// Authorization schemes: the word after one of these is a credential.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token"];

/// `text` with what looks like a secret replaced by `<redacted:KIND:FINGERPRINT>`: tokens with
/// a published key prefix, JSON web tokens, the credential after an authorization scheme
/// (`Bearer`, `Basic`, `token`), the value of a secret-named setting, and PEM private keys.
/// For text that goes into events as is: command lines (`curl -H "Authorization: Bearer
/// sk-..."`), URL paths, tool-call arguments, error messages, captured content.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    // Byte ranges to replace, with their kind; they may overlap, merged below.
    let mut spans: Vec<(usize, usize, &'static str)> = Vec::new();
    let mut after_scheme = None;
    for (start, token) in tokens(text) {
        let end = start + token.len();
        if let Some(scheme) = after_scheme.take() {
            if token.len() >= 8 {
                spans.push((start, end, kind_of(scheme, token)));
                continue;
            }
        }
        if let Some(scheme) = AUTH_SCHEMES.iter().find(|s| s.eq_ignore_ascii_case(token)) {
            after_scheme = Some(*scheme);
        } else if token.len() >= 16 && key_format(token).is_some() {
            spans.push((start, end, kind_of("", token)));
        } else if token.len() >= 16 && token.starts_with("eyJ") {
            spans.push((start, end, "jwt"));
        } else if SECRET_NAMES.iter().any(|n| contains_ignore_case(token, n)) {
            if let Some((v0, v1)) = named_value(text, end) {
                spans.push((v0, v1, "secret"));
            }
        }
    }
    for at in memchr::memmem::find_iter(text.as_bytes(), "PRIVATE KEY-----") {
        let from = at + "PRIVATE KEY-----".len();
        let to = memchr::memmem::find(&text.as_bytes()[from..], b"-----END")
            .map_or(text.len(), |n| from + n);
        spans.push((from, to, "private_key"));
    }
    if spans.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, kind) in spans {
        if start < last {
            continue; // inside a span already replaced
        }
        out.push_str(&text[last..start]);
        let secret = &text[start..end];
        out.push_str(&format!("<redacted:{kind}:{}>", fingerprint(secret)));
        last = end;
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The value after the name ending at `at`: `=value`, `: value`, `":"value"`. Numbers and
/// values shorter than 6 characters are not taken for secrets (`"max_tokens": 1024`).
fn named_value(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let sep = rest.find(|c: char| !matches!(c, '"' | '\'' | ' '))?;
    if !matches!(rest[sep..].chars().next(), Some(':' | '=')) {
        return None;
    }
    let after = &rest[sep + 1..];
    let skip = after.find(|c: char| !matches!(c, '"' | '\'' | ' ' | '\\'))?;
    let value = &after[skip..];
    let len = value
        .find(|c: char| c.is_whitespace() || "\"'\\,;&)}]<>".contains(c))
        .unwrap_or(value.len());
    let v = &value[..len];
    if v.len() < 6 || v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let start = at + sep + 1 + skip;
    Some((start, start + len))
}

/// [`redact`] in place: for text that goes into events as is (command lines, URL paths, the
/// arguments of tool calls a model asks for, which may hold a key it saw).
pub fn redact_in_place(text: &mut String) {
    if let std::borrow::Cow::Owned(clean) = redact(text) {
        *text = clean;
    }
}

/// Secrets most often pasted or read into a prompt (an agent that ran `cat .env`): the most
/// found in one body at all.
const MAX_BODY_SECRETS: usize = 16;

/// Keys and private keys in a request body (the conversation sent to a model), each reduced
/// to kind and fingerprint, once each; `source` is `request_body`. Only formats with a
/// published prefix count, each at its full length: a word like `sk-learn` is no key. JSON
/// escapes (`\n`) end a token, so a key right after an escaped newline is still found.
pub fn find_in_body(body: &[u8]) -> Vec<Credential> {
    let mut found: Vec<Credential> = Vec::new();
    let mut add = |kind: &str, secret: &[u8]| {
        let fp = fingerprint_bytes(secret);
        if found.len() < MAX_BODY_SECRETS && !found.iter().any(|c| c.fingerprint == fp) {
            found.push(Credential {
                source: "request_body".into(),
                kind: kind.into(),
                fingerprint: fp,
            });
        }
    };
    // Keys are runs of at least MIN_KEY_LEN token bytes, so only every MIN_KEY_LEN-th byte
    // needs a look: a run that long covers one of them. Prose, whose words are short, is
    // mostly skipped.
    let n = body.len();
    let mut p = MIN_KEY_LEN - 1;
    while p < n {
        if !TOKEN_BYTE[usize::from(body[p])] {
            p += MIN_KEY_LEN;
            continue;
        }
        let mut start = p;
        while start > 0 && TOKEN_BYTE[usize::from(body[start - 1])] {
            start -= 1;
        }
        let mut end = p + 1;
        while end < n && TOKEN_BYTE[usize::from(body[end])] {
            end += 1;
        }
        // In JSON text `\nAKIA...` is a newline and a key: the escape's letter (or `\uXXXX`)
        // is no part of the token. An even run of backslashes is escaped backslashes.
        let slashes = body[..start]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if slashes % 2 == 1 {
            start = (start + if body[start] == b'u' { 5 } else { 1 }).min(end);
        }
        if end - start >= MIN_KEY_LEN {
            // Only ASCII here, so the slice is UTF-8.
            let token = std::str::from_utf8(&body[start..end]).unwrap_or("");
            if let Some((kind, min)) = key_format(token) {
                if token.len() >= min {
                    add(kind, token.as_bytes());
                }
            }
        }
        p = end + MIN_KEY_LEN;
    }
    // PEM private keys: `-----BEGIN [RSA |EC |OPENSSH ]PRIVATE KEY-----` and the key after it.
    for at in memchr::memmem::find_iter(body, b"PRIVATE KEY-----") {
        let head = &body[at.saturating_sub(24)..at];
        if memchr::memmem::find(head, b"-----BEGIN").is_some() {
            let key = &body[at..body.len().min(at + 16 + 96)];
            add("private_key", key);
        }
    }
    found
}

/// Maximal runs of characters that can make up a key, with their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while rest.peek().is_some_and(|(_, c)| !is_part(*c)) {
            rest.next();
        }
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = rest.peek() {
            if !is_part(c) {
                break;
            }
            end = i + c.len_utf8();
            rest.next();
        }
        Some((start, &text[start..end]))
    })
}

/// First 12 hex digits of the SHA-256 of the secret: tells keys apart, reveals nothing usable.
pub fn fingerprint(secret: &str) -> String {
    fingerprint_bytes(secret.as_bytes())
}

fn fingerprint_bytes(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_classified_and_never_copied() {
        let key = "sk-ant-api03-AAAABBBBCCCCDDDD";
        let c = credential("x-api-key", key);
        assert_eq!(c.kind, "anthropic_api_key");
        assert_eq!(c.fingerprint.len(), 12);
        assert!(!format!("{c:?}").contains("AAAABBBB"));

        let c = credential("authorization", "Bearer sk-proj-abc123");
        assert_eq!(c.kind, "openai_api_key");
        assert_eq!(c.fingerprint, fingerprint("sk-proj-abc123"));

        assert_eq!(
            credential("authorization", "Bearer eyJhbGciOi").kind,
            "bearer_token"
        );
        assert_eq!(
            credential("x-goog-api-key", "AIzaSyD-xyz").kind,
            "google_api_key"
        );
        assert_eq!(credential("api-key", "0123abcd").kind, "api_key");
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }

    #[test]
    fn sigv4_is_known_by_its_access_key_id_never_its_signature() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIAE2ETESTKEY000000/20261202/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        let c = credential("authorization", auth);
        assert_eq!(c.kind, "aws_sigv4");
        assert_eq!(c.fingerprint, fingerprint("AKIAE2ETESTKEY000000"));
        // Another signature of the same key: the same fingerprint.
        let other = auth.replace("5d672d79", "00000000");
        assert_eq!(credential("authorization", &other), c);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("AKIAE2E") && !shown.contains("5d672d79"),
            "{shown}"
        );
        // Without a Credential= part there is nothing better than the whole to fingerprint.
        let odd = credential("authorization", "AWS4-HMAC-SHA256 garbage");
        assert_eq!(
            (odd.kind.as_str(), odd.fingerprint),
            ("aws_sigv4", fingerprint("garbage"))
        );

        let token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ";
        assert!(CREDENTIAL_HEADERS.contains(&"x-amz-security-token"));
        let c = credential("x-amz-security-token", token);
        assert_eq!(c.kind, "aws_session_token");
        assert!(!format!("{c:?}").contains("IQoJb3"));
        assert!(!redact("aws --key AKIAE2ETESTKEY000000 s3 ls").contains("AKIAE2E"));
    }

    #[test]
    fn keys_and_private_keys_in_a_body_are_found_once_each_and_never_copied() {
        let aws = "AKIAIOSFODNN7EXAMPLE";
        let gh = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let pem =
            "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ";
        // As a JSON body carries what an agent read: escaped newlines, quotes.
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":"here is .env:\nAWS_ACCESS_KEY_ID={aws}\nGH={gh}\n{pem}\nagain {aws}"}}],"model":"gpt-4o"}}"#
        );
        let found = find_in_body(body.as_bytes());
        let kinds: Vec<&str> = found.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["aws_access_key_id", "github_token", "private_key"]);
        assert_eq!(found[0].fingerprint, fingerprint(aws));
        assert!(found.iter().all(|c| c.source == "request_body"));
        let shown = format!("{found:?}");
        assert!(
            !shown.contains("IOSFODNN") && !shown.contains("0123456789abc"),
            "{shown}"
        );

        // Words with a key's prefix are not keys; nor is a short prefix match.
        let prose =
            br#"{"content":"use sk-learn or sk-learn-intro-to-machine-learning, ghp_short, AKIA"}"#;
        assert!(find_in_body(prose).is_empty(), "{:?}", find_in_body(prose));
        // Garbage and cut bodies: no panic, bounded.
        assert!(find_in_body(b"\\").is_empty());
        assert!(find_in_body(&[0xff, b'A', b'K', 0xfe]).is_empty());
        assert!(KEY_FORMATS.iter().all(|f| f.2 >= MIN_KEY_LEN));
        // At the very start and end, after `\u0020`, and after an escaped backslash.
        for body in [
            aws.to_string(),
            format!("x={aws}"),
            format!(r#""\u0020{aws}""#),
            format!(r#""C:\\{aws}""#),
        ] {
            let found = find_in_body(body.as_bytes());
            assert_eq!(found.len(), 1, "{body}");
            assert_eq!(found[0].fingerprint, fingerprint(aws), "{body}");
        }
        let many: String = (0..100).map(|i| format!("AKIA{i:016} ")).collect();
        assert_eq!(find_in_body(many.as_bytes()).len(), MAX_BODY_SECRETS);
    }

    #[test]
    fn every_usual_way_of_writing_a_secret_is_redacted() {
        let cases = [
            // (text, what must not survive)
            (r#"{"command":"curl -H 'Authorization: token ghp_R3alLookingGithubToken0123456789ab' https://api.github.com"}"#, "R3alLooking"),
            ("curl -H 'Authorization: Basic dXNlcjpzZWNyZXRwYXNzd29yZA==' x", "dXNlcjpz"),
            (r#"{"AWS_SECRET_ACCESS_KEY":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#, "wJalrXUtn"),
            ("export STRIPE=sk_live_51HabcdefGHIJKLmnopQRSTuv", "51Habcdef"),
            ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "eyJzdWIiOi"),
            ("psql postgres://app@db --password=hunter2secret", "hunter2secret"),
            ("GET /v1/x?X-Amz-Signature=5d672d79c15b13162d92&X-Amz-Credential=AKIAE2E/2026", "5d672d79"),
            ("key: -----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk\\n-----END OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXk"),
            (r#"{"error":"Invalid API key sk-proj-LeakedKey0123456789abcdef"}"#, "LeakedKey"),
        ];
        for (text, secret) in cases {
            let r = redact(text);
            assert!(!r.contains(secret), "{text} -> {r}");
            assert!(r.contains("<redacted:"), "{text} -> {r}");
        }
        // Settings that are no secrets stay.
        for plain in [
            r#"{"max_tokens": 1024, "model": "gpt-4o"}"#,
            "the key: short",
            "python3 agent.py --task sk-run",
        ] {
            assert_eq!(redact(plain), plain);
        }
    }

    #[test]
    fn command_lines_lose_their_keys() {
        let cmd = "curl -H Authorization: Bearer sk-proj-e2eTESTKEY0123456789 https://api.openai.com -H x-api-key:sk-ant-api03-AAAABBBBCCCC";
        let r = redact(cmd);
        assert!(!r.contains("e2eTESTKEY"), "{r}");
        assert!(!r.contains("AAAABBBB"), "{r}");
        assert!(r.contains("<redacted:openai_api_key:"), "{r}");
        assert!(r.contains("<redacted:anthropic_api_key:"), "{r}");
        assert!(
            r.starts_with("curl -H Authorization: Bearer <redacted"),
            "{r}"
        );
        let r = redact("agent --token Bearer eyJhbGciOiJIUzI1NiJ9");
        assert!(!r.contains("eyJhbGci"), "{r}");
        // nothing to hide: borrowed, unchanged (short sk- words are not keys)
        let plain = "python3 agent.py --task sk-run --model gpt-4o";
        assert!(matches!(redact(plain), std::borrow::Cow::Borrowed(_)));
    }
}
