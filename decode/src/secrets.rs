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
    Credential {
        source: source.to_string(),
        kind: kind_of(&scheme, secret).to_string(),
        fingerprint: fingerprint(secret),
    }
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
}
