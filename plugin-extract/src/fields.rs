//! The `ai.*` fields, defined once: each entry gives a field's name, its description and how it
//! is read from a [`Payload`]. The table generates both the extractor methods and
//! [`FIELDS`] (the plugin's `EXTRACT_FIELDS`), from which the README table is rendered too.
//!
//! A value that the payload does not carry is `None`, which Falco shows as `<NA>`: an
//! `ai.request` event has no response fields (tokens, finish reason, status, latency...).

use std::ffi::CString;

use aisensor_event::payload::{kind, Ai, Conn, Http, Usage};
use aisensor_event::Payload;
use falco_plugin::anyhow;
use falco_plugin::extract::{field, ExtractFieldInfo, ExtractRequest};

use crate::AiFields;

/// `"name" = method(payload[, arg: Type]) -> Type { "description" expression }`
macro_rules! ai_fields {
    ($(
        $name:literal = $method:ident($p:ident $(, $arg:ident: $argty:ty)?) -> $ret:ty {
            $desc:literal
            $body:expr
        }
    )*) => {
        impl AiFields {
            $(
                fn $method(
                    &mut self,
                    req: ExtractRequest<Self>
                    $(, $arg: $argty)?
                ) -> anyhow::Result<$ret> {
                    let $p: &Payload = self.payload(&req)?;
                    Ok($body)
                }
            )*
        }

        pub(crate) const FIELDS: &[ExtractFieldInfo<AiFields>] = &[
            $( field($name, &AiFields::$method).with_description($desc), )*
        ];
    };
}

ai_fields! {
    // The event.
    "ai.kind" = kind(p) -> Option<CString> {
        "Event kind: `ai.request` (the client sent an AI API request) or `ai.response` (the exchange completed)."
        text(&p.kind)
    }
    "ai.schema_version" = schema_version(p) -> u64 {
        "Version of the event payload schema."
        u64::from(p.v)
    }
    "ai.exchange_id" = exchange_id(p) -> Option<u64> {
        "Identifies one request/response exchange: its `ai.request` and `ai.response` events carry the same id."
        Some(p.exchange_id).filter(|&id| id != 0)
    }

    // The AI call.
    "ai.provider" = provider(p) -> Option<CString> {
        "AI provider, as OpenTelemetry `gen_ai.provider.name` names it (`openai`, `anthropic`, `gcp.gemini`, `aws.bedrock`, ...), or `unknown` for an unrecognised host speaking a known AI API."
        ai(p).and_then(|a| text(&a.provider))
    }
    "ai.operation" = operation(p) -> Option<CString> {
        "AI operation: `chat` (OpenAI chat completions and responses, Anthropic messages, Bedrock), `generate_content` (Gemini) or `embeddings`."
        ai(p).and_then(|a| text(&a.operation))
    }
    "ai.model" = model(p) -> Option<CString> {
        "Model the request asked for."
        ai(p).and_then(|a| text(&a.model))
    }
    "ai.response.model" = response_model(p) -> Option<CString> {
        "Model the response says answered (often a dated version of `ai.model`)."
        ai(p).and_then(|a| text(&a.response_model))
    }
    "ai.response.id" = response_id(p) -> Option<CString> {
        "Id the provider gave the response."
        ai(p).and_then(|a| text(&a.response_id))
    }
    "ai.stream" = stream(p) -> Option<bool> {
        "True if the request asked for a streamed response."
        ai(p).map(|a| a.stream)
    }
    "ai.error" = error(p) -> Option<CString> {
        "Error the API reported: its error type or code, else its message (secrets redacted, at most 256 characters), else `http_<status>`."
        ai(p).and_then(|a| text(&a.error))
    }
    "ai.finish_reason" = finish_reason(p) -> Option<CString> {
        "Why the model stopped (first choice): `stop`, `tool_calls`, `end_turn`, `length`, ..."
        ai(p).and_then(|a| a.finish_reasons.first()).and_then(|r| text(r))
    }
    "ai.latency" = latency(p) -> Option<u64> {
        "Nanoseconds from the request fully sent to the response fully received."
        ai(p).and_then(|a| a.latency_ns)
    }
    "ai.ttft" = ttft(p) -> Option<u64> {
        "Time to first token: nanoseconds from the request fully sent to the first response byte."
        ai(p).and_then(|a| a.ttft_ns)
    }

    // Tools.
    "ai.tools.declared" = tools_declared(p) -> Vec<CString> {
        "Names of the tools the request offered to the model."
        ai(p).map(|a| texts(&a.tools_declared)).unwrap_or_default()
    }
    "ai.tool_call_count" = tool_call_count(p) -> Option<u64> {
        "Number of tool calls the model asked for."
        response_ai(p).map(|a| a.tool_calls.len() as u64)
    }
    "ai.tool_name" = tool_name(p) -> Option<CString> {
        "Name of the first tool the model asked to call."
        ai(p).and_then(|a| a.tool_calls.first()).and_then(|t| text(&t.name))
    }
    "ai.tool_names" = tool_names(p) -> Vec<CString> {
        "Names of all the tools the model asked to call, in order."
        ai(p).map(|a| texts(a.tool_calls.iter().map(|t| &t.name))).unwrap_or_default()
    }
    "ai.tool.arguments" = tool_arguments(p, index: Option<u64>) -> Option<CString> {
        "Arguments (a JSON text) of the first tool call the model asked for, or of the call at the given index (`ai.tool.arguments[1]` is the second)."
        ai(p)
            .and_then(|a| a.tool_calls.get(usize::try_from(index.unwrap_or(0)).ok()?))
            .and_then(|t| text(&t.arguments))
    }

    // Tokens.
    "ai.tokens.input" = tokens_input(p) -> Option<u64> {
        "Input (prompt) tokens the provider counted."
        usage(p).map(|u| u.input)
    }
    "ai.tokens.output" = tokens_output(p) -> Option<u64> {
        "Output (completion) tokens the provider counted."
        usage(p).map(|u| u.output)
    }
    "ai.tokens.cache_read" = tokens_cache_read(p) -> Option<u64> {
        "Input tokens served from the provider's prompt cache."
        usage(p).map(|u| u.cache_read)
    }
    "ai.tokens.cache_write" = tokens_cache_write(p) -> Option<u64> {
        "Input tokens written to the provider's prompt cache."
        usage(p).map(|u| u.cache_write)
    }
    "ai.tokens.reasoning" = tokens_reasoning(p) -> Option<u64> {
        "Output tokens spent on reasoning, when the provider reports them."
        usage(p).map(|u| u.reasoning)
    }
    "ai.tokens.total" = tokens_total(p) -> Option<u64> {
        "`ai.tokens.input` plus `ai.tokens.output`."
        usage(p).map(|u| u.input.saturating_add(u.output))
    }

    // Content, only when the source plugin captures it (`capture_content`).
    "ai.prompt" = prompt(p) -> Option<CString> {
        "Prompt text of the request (only with `capture_content: true` in the aisensor config)."
        p.content.as_ref().and_then(|c| text(&c.prompt))
    }
    "ai.completion" = completion(p) -> Option<CString> {
        "Completion text of the response (only with `capture_content: true` in the aisensor config)."
        p.content.as_ref().and_then(|c| text(&c.completion))
    }

    // HTTP and the connection.
    "ai.http.method" = http_method(p) -> Option<CString> {
        "HTTP method of the request."
        http(p).and_then(|h| text(&h.method))
    }
    "ai.http.path" = http_path(p) -> Option<CString> {
        "HTTP path of the request, query included."
        http(p).and_then(|h| text(&h.path))
    }
    "ai.http.status" = http_status(p) -> Option<u64> {
        "HTTP status code of the response."
        http(p).and_then(|h| h.status).map(u64::from)
    }
    "ai.http.user_agent" = http_user_agent(p) -> Option<CString> {
        "User-Agent the client sent: often names the SDK and its version."
        http(p).and_then(|h| text(&h.user_agent))
    }
    "ai.http.request_bytes" = http_request_bytes(p) -> Option<u64> {
        "Bytes the request took on the wire (head and body, before content decoding)."
        http(p).and_then(|h| h.request_bytes)
    }
    "ai.http.response_bytes" = http_response_bytes(p) -> Option<u64> {
        "Bytes the response took on the wire (head and body, before content decoding)."
        http(p).and_then(|h| h.response_bytes)
    }
    "ai.http.version" = http_version(p) -> Option<CString> {
        "HTTP version of the exchange: `1.0`, `1.1` or `2`."
        conn(p).and_then(|c| text(&c.http_version))
    }
    "ai.server" = server(p) -> Option<CString> {
        "Server host name as the client named it (HTTP `Host` or `:authority`), without the port."
        conn(p).and_then(|c| text(&c.server))
    }
    "ai.server.port" = server_port(p) -> Option<u64> {
        "Server port, when known."
        conn(p).and_then(|c| c.port).map(u64::from)
    }
    "ai.conn.id" = conn_id(p) -> Option<CString> {
        "Connection id (the TLS session pointer, hex): with `ai.proc.pid`, identifies the connection."
        conn(p).and_then(|c| text(&c.id))
    }
    "ai.conn.tls_lib" = conn_tls_lib(p) -> Option<CString> {
        "TLS library the plaintext was read from (`openssl`, ...)."
        conn(p).and_then(|c| text(&c.tls_lib))
    }

    // The process that made the call.
    "ai.proc.pid" = proc_pid(p) -> u64 {
        "Process id (thread-group id) of the caller."
        u64::from(p.proc.pid)
    }
    "ai.proc.tid" = proc_tid(p) -> Option<u64> {
        "Thread id of the caller."
        Some(u64::from(p.proc.tid)).filter(|&tid| tid != 0)
    }
    "ai.proc.ppid" = proc_ppid(p) -> Option<u64> {
        "Parent process id of the caller."
        Some(u64::from(p.proc.ppid)).filter(|&ppid| ppid != 0)
    }
    "ai.proc.name" = proc_name(p) -> Option<CString> {
        "Command name of the caller, as the kernel reports it (`comm`, at most 15 characters)."
        text(&p.proc.name)
    }
    "ai.proc.exe" = proc_exe(p) -> Option<CString> {
        "Executable path of the caller."
        text(&p.proc.exe)
    }
    "ai.proc.cmdline" = proc_cmdline(p) -> Option<CString> {
        "Command line of the caller, arguments separated by spaces."
        text(&p.proc.cmdline)
    }
    "ai.proc.uid" = proc_uid(p) -> Option<u64> {
        "User id of the caller."
        p.proc.uid.map(u64::from)
    }

    // Credentials, reduced to kind and fingerprint by the source plugin: never the secret.
    "ai.credential.kinds" = credential_kinds(p) -> Vec<CString> {
        "Kinds of the credentials seen in the exchange (`openai_api_key`, `anthropic_api_key`, `bearer`, ...)."
        texts(p.credentials.iter().map(|c| &c.kind))
    }
    "ai.credential.fingerprints" = credential_fingerprints(p) -> Vec<CString> {
        "Fingerprints of those credentials (first 12 hex digits of their SHA-256): tell keys apart without revealing them."
        texts(p.credentials.iter().map(|c| &c.fingerprint))
    }

    // Keys in what was sent to the model, reduced the same way.
    "ai.secrets" = secret_kinds(p) -> Vec<CString> {
        "Kinds of the keys found in the request body, i.e. sent to the model (`aws_access_key_id`, `github_token`, `private_key`, `openai_api_key`, ...), once per key."
        texts(p.secrets.iter().map(|c| &c.kind))
    }
    "ai.secrets.fingerprints" = secret_fingerprints(p) -> Vec<CString> {
        "Fingerprints of those keys (first 12 hex digits of their SHA-256)."
        texts(p.secrets.iter().map(|c| &c.fingerprint))
    }
    "ai.secrets.count" = secret_count(p) -> Option<u64> {
        "How many distinct keys the request body carried (0 when none)."
        (p.kind == kind::AI_REQUEST || p.kind == kind::AI_RESPONSE).then_some(p.secrets.len() as u64)
    }
}

fn ai(p: &Payload) -> Option<&Ai> {
    p.ai.as_ref()
}

/// The AI section of anything but a request: response-only counts are `<NA>` on requests.
fn response_ai(p: &Payload) -> Option<&Ai> {
    ai(p).filter(|_| p.kind != kind::AI_REQUEST)
}

fn usage(p: &Payload) -> Option<&Usage> {
    ai(p).and_then(|a| a.usage.as_ref())
}

fn http(p: &Payload) -> Option<&Http> {
    p.http.as_ref()
}

fn conn(p: &Payload) -> Option<&Conn> {
    p.conn.as_ref()
}

/// A string field: `None` (`<NA>`) when empty. A NUL cannot cross the plugin API, and JSON
/// (`\u0000`) can carry one: it is dropped rather than failing the field.
fn text(s: &str) -> Option<CString> {
    if s.is_empty() {
        return None;
    }
    Some(
        CString::new(s)
            .unwrap_or_else(|_| CString::new(s.replace('\0', "")).expect("every NUL was removed")),
    )
}

/// A list field: its non-empty strings.
fn texts<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<CString> {
    items.into_iter().filter_map(|s| text(s)).collect()
}
