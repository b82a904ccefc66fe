//! Turning a finished HTTP request, and later its response, into `ai.request` and
//! `ai.response` payloads.

use super::{Config, Counters, Emitted, ProcSource};
use crate::decode::encoding::decode_body;
use crate::decode::http1::{Head, Message};
use crate::providers::{self, Detected, RequestInfo, ResponseInfo};
use crate::secrets;
use aisensor_event::payload::{self, kind, Ai, Content, Credential, Http, Payload, Proc};
use aisensor_event::raw::{Header, TlsLib};
use aisensor_event::SCHEMA_VERSION;

/// Characters of an API error message kept in `ai.error`.
const MAX_ERROR_CHARS: usize = 256;

/// Everything an exchange's stage needs from the pipeline.
pub(super) struct Ctx<'a> {
    pub cfg: &'a Config,
    pub counters: &'a mut Counters,
    pub next_exchange: &'a mut u64,
    pub procs: &'a mut dyn ProcSource,
    pub out: &'a mut dyn FnMut(Emitted),
}

/// A request waiting for its response.
pub(super) struct Pending {
    pub method: String,
    /// Monotonic ns when the request was complete.
    pub request_ts: u64,
    pub first_response_ts: Option<u64>,
    /// None for an exchange that is not an AI API call.
    ai: Option<Box<AiRequest>>,
}

impl Pending {
    /// The request is an AI API call (its response is worth reading).
    pub fn is_ai(&self) -> bool {
        self.ai.is_some()
    }
}

/// Which connection an exchange went over: the process, the TLS library's connection object
/// (`SSL*`, `gnutls_session_t`, `*tls.Conn`), and that library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnId {
    pub pid: u32,
    pub ssl: u64,
    pub lib: TlsLib,
}

struct AiRequest {
    id: u64,
    detected: Detected,
    info: RequestInfo,
    proc: Proc,
    conn: payload::Conn,
    http: Http,
    credentials: Vec<Credential>,
    /// Keys found in the request body: what the conversation carried to the model.
    secrets: Vec<Credential>,
}

impl Ctx<'_> {
    /// `http_version` as the payload says it: `1.1`, `1.0` or `2`.
    pub fn request(
        &mut self,
        conn: ConnId,
        hdr: &Header,
        msg: Message,
        http_version: String,
    ) -> Pending {
        let head = &msg.head;
        let (host, port) = split_host(head.header("host").unwrap_or(""));
        let detected = providers::detect(
            &host,
            &head.method,
            &head.path,
            head,
            &self.cfg.host_providers,
        );
        let mut pending = Pending {
            method: head.method.clone(),
            request_ts: hdr.ts_ns,
            first_response_ts: None,
            ai: None,
        };
        let Some(detected) = detected else {
            self.counters.non_ai_exchanges += 1;
            return pending;
        };
        let body = self.body(head, &msg.body);
        let info = body
            .as_deref()
            .and_then(|body| providers::parse_request_for(&detected, body).ok());
        if !providers::confirmed(&detected, info.as_ref()) {
            self.counters.non_ai_exchanges += 1;
            return pending;
        }
        let mut info = info.unwrap_or_else(|| {
            self.counters.provider_errors += 1;
            RequestInfo::default()
        });
        // Made ready for both events once, and not held at all when content is not captured.
        info.prompt = if self.cfg.capture_content {
            self.content_text(&info.prompt)
        } else {
            String::new()
        };
        let mut proc = self.procs.lookup(conn.pid, &hdr.comm());
        proc.tid = hdr.tid;
        secrets::redact_in_place(&mut proc.cmdline);
        let mut path = head.path.clone();
        secrets::redact_in_place(&mut path);
        let id = *self.next_exchange;
        *self.next_exchange += 1;
        let ai = Box::new(AiRequest {
            id,
            info,
            proc,
            conn: payload::Conn {
                tls_lib: conn.lib.name().into(),
                server: host,
                port,
                http_version,
                id: format!("{:x}", conn.ssl),
            },
            http: Http {
                method: head.method.clone(),
                path,
                status: None,
                request_bytes: Some(msg.wire_len),
                response_bytes: None,
                user_agent: head.header("user-agent").unwrap_or("").to_string(),
            },
            credentials: head
                .headers
                .iter()
                .filter(|(n, _)| secrets::CREDENTIAL_HEADERS.contains(&n.as_str()))
                .map(|(n, v)| secrets::credential(n, v))
                .collect(),
            secrets: body
                .as_deref()
                .map(secrets::find_in_body)
                .unwrap_or_default(),
            detected,
        });
        let payload = self.payload(kind::AI_REQUEST, hdr.ts_ns, &ai, None, |_| {});
        self.emit(hdr.ts_ns, payload);
        pending.ai = Some(ai);
        pending
    }

    pub fn response(&mut self, p: Pending, hdr: &Header, msg: Message) {
        let Some(mut req) = p.ai else {
            return;
        };
        let head = &msg.head;
        let streamed = providers::is_event_stream(head);
        let parsed = self
            .body(head, &msg.body)
            .and_then(|body| providers::read_response(req.detected.api, head, &body).ok());
        let mut info = parsed.unwrap_or_else(|| {
            self.counters.provider_errors += 1;
            ResponseInfo::default()
        });
        self.counters.provider_errors += u64::from(info.bad_events);
        for call in &mut info.tool_calls {
            secrets::redact_in_place(&mut call.arguments);
        }
        // A message may quote what the server rejected, the key included (`Invalid API key
        // sk-...`): redacted, and cut to what an alert needs.
        secrets::redact_in_place(&mut info.error);
        if let Some((cut, _)) = info.error.char_indices().nth(MAX_ERROR_CHARS) {
            info.error.truncate(cut);
        }
        if info.error.is_empty() && head.status >= 400 {
            info.error = format!("http_{}", head.status);
        }
        if hdr.tid != 0 {
            req.proc.tid = hdr.tid;
        }
        req.http.status = Some(head.status);
        req.http.response_bytes = Some(msg.wire_len);
        let ts = hdr.ts_ns;
        let payload = self.payload(kind::AI_RESPONSE, ts, &req, Some(&info), |ai| {
            ai.stream |= streamed;
            ai.latency_ns = Some(ts.saturating_sub(p.request_ts));
            ai.ttft_ns = p.first_response_ts.map(|t| t.saturating_sub(p.request_ts));
        });
        self.emit(ts, payload);
    }

    /// The body with its content coding undone; None (counted by the caller) if it cannot be.
    fn body<'b>(&self, head: &Head, body: &'b [u8]) -> Option<std::borrow::Cow<'b, [u8]>> {
        decode_body(
            head.header("content-encoding"),
            body,
            self.cfg.max_decoded_body,
        )
        .ok()
        .map(|d| d.bytes)
    }

    fn payload(
        &self,
        kind: &str,
        ts: u64,
        req: &AiRequest,
        resp: Option<&ResponseInfo>,
        finish: impl FnOnce(&mut Ai),
    ) -> Payload {
        let mut ai = Ai {
            provider: req.detected.provider.clone(),
            operation: req.detected.operation.to_string(),
            model: req.info.model.clone(),
            stream: req.info.stream,
            tools_declared: req.info.tools_declared.clone(),
            ..Default::default()
        };
        let mut content = self.cfg.capture_content.then(|| Content {
            prompt: req.info.prompt.clone(),
            completion: String::new(),
        });
        if let Some(r) = resp {
            ai.response_model = r.response_model.clone();
            ai.response_id = r.response_id.clone();
            ai.tool_calls = r.tool_calls.clone();
            ai.usage = r.usage.clone();
            ai.finish_reasons = r.finish_reasons.clone();
            ai.error = r.error.clone();
            if let Some(c) = content.as_mut() {
                c.completion = self.content_text(&r.completion);
            }
        }
        finish(&mut ai);
        Payload {
            v: SCHEMA_VERSION,
            kind: kind.to_string(),
            ts: self.wall(ts),
            exchange_id: req.id,
            proc: req.proc.clone(),
            conn: Some(req.conn.clone()),
            http: Some(req.http.clone()),
            ai: Some(ai),
            content,
            credentials: req.credentials.clone(),
            secrets: req.secrets.clone(),
        }
    }

    /// Prompt or completion text as events carry it: capped, and its keys redacted (content
    /// goes to alert outputs).
    fn content_text(&self, t: &str) -> String {
        secrets::redact(&cap(t, self.cfg.max_content_bytes)).into_owned()
    }

    fn wall(&self, mono_ns: u64) -> u64 {
        (mono_ns as i128 + self.cfg.wall_minus_mono_ns as i128).max(0) as u64
    }

    fn emit(&mut self, mono_ts: u64, payload: Payload) {
        self.counters.events += 1;
        let ts = self.wall(mono_ts);
        (self.out)(Emitted { ts, payload });
    }
}

/// `host[:port]` (or `[v6]:port`) → lower-case host and port.
pub(super) fn split_host(h: &str) -> (String, Option<u16>) {
    let h = h.trim();
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, port.parse().ok())
        }
        _ => (h, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host.to_ascii_lowercase(), port.or(Some(443)))
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host("API.OpenAI.com"),
            ("api.openai.com".into(), Some(443))
        );
        assert_eq!(
            split_host("localhost:8443"),
            ("localhost".into(), Some(8443))
        );
        assert_eq!(split_host("[::1]:9000"), ("::1".into(), Some(9000)));
        assert_eq!(cap("héllo", 2), "h");
    }
}
