//! OpenAI Embeddings (`POST /v1/embeddings`), also served by Azure OpenAI and the
//! OpenAI-compatible hosts: the model asked for, and the tokens counted. The vectors are not
//! read.

use super::{text, RequestInfo, ResponseInfo};
use aisensor_event::payload::Usage;
use serde_json::Value;

pub(super) fn request(v: &Value) -> RequestInfo {
    RequestInfo {
        model: text(&v["model"]),
        // `input` is a string or a list of strings (or of token arrays): the first string.
        prompt: match &v["input"] {
            Value::String(s) => s.clone(),
            Value::Array(a) => a.first().map(text).unwrap_or_default(),
            _ => String::new(),
        },
        ..Default::default()
    }
}

pub(super) fn response(v: &Value) -> ResponseInfo {
    let u = &v["usage"];
    ResponseInfo {
        response_model: text(&v["model"]),
        usage: u.is_object().then(|| Usage {
            input: u["prompt_tokens"].as_u64().unwrap_or(0),
            ..Default::default()
        }),
        error: super::error_of(v),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_and_tokens() {
        let v: Value = serde_json::from_str(
            r#"{"model":"text-embedding-3-small","input":["a b c","d"],"encoding_format":"base64"}"#,
        )
        .unwrap();
        let r = request(&v);
        assert_eq!(
            (r.model.as_str(), r.prompt.as_str()),
            ("text-embedding-3-small", "a b c")
        );
        let v: Value = serde_json::from_str(
            r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAA"}],
                "model":"text-embedding-3-small","usage":{"prompt_tokens":4,"total_tokens":4}}"#,
        )
        .unwrap();
        let r = response(&v);
        assert_eq!(r.usage.unwrap().input, 4);
        assert_eq!(r.response_model, "text-embedding-3-small");
        assert!(r.error.is_empty());
    }
}
