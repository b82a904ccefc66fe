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

fn kind_of(scheme: &str, secret: &str) -> &'static str {
    // Prefixes published by the providers for their key formats.
    const PREFIXES: &[(&str, &str)] = &[
        ("sk-ant-", "anthropic_api_key"),
        ("sk-proj-", "openai_api_key"),
        ("sk-svcacct-", "openai_api_key"),
        ("sk-or-", "openrouter_api_key"),
        ("sk-", "openai_api_key"),
        ("AIza", "google_api_key"),
        ("gsk_", "groq_api_key"),
        ("xai-", "xai_api_key"),
        ("hf_", "huggingface_token"),
        // AWS access key ids: long-term (AKIA) and temporary (ASIA).
        ("AKIA", "aws_access_key_id"),
        ("ASIA", "aws_access_key_id"),
    ];
    if let Some((_, kind)) = PREFIXES.iter().find(|(p, _)| secret.starts_with(p)) {
        return kind;
    }
    match scheme {
        "bearer" => "bearer_token",
        "basic" => "basic_auth",
        "" => "api_key",
        _ => "other",
    }
}

/// `text` with every token that looks like an API key, and the token after `Bearer`, replaced
/// by `<redacted:KIND:FINGERPRINT>`: for command lines, which carry keys more often than
/// one would hope (`curl -H "Authorization: Bearer sk-..."`).
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let is_key = |t: &str| {
        t.len() >= 16
            && kind_of("", t) != "api_key"
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut out = String::new();
    let mut last = 0;
    let mut after_bearer = false;
    for (start, token) in tokens(text) {
        let secret = after_bearer && token.len() >= 8 || is_key(token);
        after_bearer = token.eq_ignore_ascii_case("bearer");
        if secret {
            out.push_str(&text[last..start]);
            out.push_str(&format!(
                "<redacted:{}:{}>",
                kind_of("bearer", token),
                fingerprint(token)
            ));
            last = start + token.len();
        }
    }
    if last == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

/// [`redact`] in place: for text that goes into events as is (command lines, URL paths, the
/// arguments of tool calls a model asks for, which may hold a key it saw).
pub fn redact_in_place(text: &mut String) {
    if let std::borrow::Cow::Owned(clean) = redact(text) {
        *text = clean;
    }
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
    let digest = Sha256::digest(secret.as_bytes());
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
