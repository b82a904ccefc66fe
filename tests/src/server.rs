//! A TLS server on 127.0.0.1 that answers like the OpenAI (chat completions, responses,
//! embeddings), Anthropic, Gemini and AWS Bedrock Runtime APIs, with the response fixtures in
//! `decode/tests/fixtures/responses/`. It is rustls, not OpenSSL, so the probe sees only the
//! clients' side of each connection.

use crate::tls::TestCa;
use anyhow::{Context, Result};
use rustls::{ServerConnection, StreamOwned};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The response fixtures, by file stem.
#[derive(Clone, Default)]
pub struct Responses(Arc<HashMap<String, Vec<u8>>>);

impl Responses {
    pub fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../decode/tests/fixtures/responses")
    }

    pub fn load() -> Result<Responses> {
        let dir = Self::dir();
        let mut map = HashMap::new();
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {dir:?}"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "http") {
                let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                map.insert(stem, std::fs::read(&path)?);
            }
        }
        Ok(Responses(Arc::new(map)))
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(Vec::as_slice)
    }

    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.0.keys().cloned().collect();
        v.sort();
        v
    }
}

/// What a request asked for, as far as choosing a response goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    OpenAi,
    OpenAiResponses,
    OpenAiEmbeddings,
    Anthropic,
    Gemini,
    /// Bedrock `Converse` / `ConverseStream`.
    BedrockConverse,
    /// Bedrock `InvokeModel` / `InvokeModelWithResponseStream` (an Anthropic model's body).
    BedrockInvoke,
}

/// The fixture that answers a request: `<api>-<shape>` where shape says streaming and tools.
pub fn fixture_name(api: Api, stream: bool, tools: bool) -> String {
    let api = match api {
        Api::OpenAi => "openai-chat",
        Api::OpenAiResponses => "openai-responses",
        Api::OpenAiEmbeddings => return "openai-embeddings".into(),
        Api::Anthropic => "anthropic-messages",
        Api::Gemini => "gemini-generate",
        Api::BedrockConverse => "bedrock-converse",
        Api::BedrockInvoke => "bedrock-invoke",
    };
    let shape = match (stream, tools) {
        (false, false) => "",
        (false, true) => "-tools",
        (true, false) => "-stream",
        (true, true) => "-tools-stream",
    };
    format!("{api}{shape}")
}

pub struct MockApi {
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// Requests answered so far.
    pub answered: Arc<AtomicU64>,
}

impl MockApi {
    pub fn start(ca: &TestCa, responses: Responses) -> Result<MockApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let (cfg, stop2, answered2) = (ca.server.clone(), stop.clone(), answered.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let (cfg, responses, answered) =
                            (cfg.clone(), responses.clone(), answered2.clone());
                        std::thread::spawn(move || {
                            let _ = serve(tcp, cfg, &responses, &answered);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(MockApi {
            port,
            stop,
            answered,
        })
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One connection: requests in, fixture responses out, keep-alive until the client closes.
fn serve(
    tcp: TcpStream,
    cfg: Arc<rustls::ServerConfig>,
    responses: &Responses,
    answered: &AtomicU64,
) -> Result<()> {
    tcp.set_nonblocking(false)?;
    tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
    tcp.set_nodelay(true)?;
    let mut tls = StreamOwned::new(ServerConnection::new(cfg)?, tcp);
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 1 << 20 {
                return Ok(());
            }
            let n = tls.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Ok(()); // not HTTP: hang up, as a real server would
        }
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        buf.drain(..head_end);
        let body = if headers
            .get("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
        {
            read_chunked(&mut tls, &mut buf, &mut chunk)?
        } else {
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < len {
                let n = tls.read(&mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..len).collect()
        };
        let response = respond(method, path, &body, responses);
        if version == "HTTP/1.0" {
            // As an HTTP/1.0 server (Python's http.server, many mocks) answers: the body runs
            // until the server closes the connection.
            tls.write_all(&until_close(&response)?)?;
            answered.fetch_add(1, Ordering::Relaxed);
            tls.conn.send_close_notify();
            let _ = tls.flush();
            return Ok(());
        }
        tls.write_all(&response)?;
        tls.flush()?;
        answered.fetch_add(1, Ordering::Relaxed);
        if headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            tls.conn.send_close_notify();
            let _ = tls.flush();
            return Ok(());
        }
    }
}

/// `response` as HTTP/1.0 with no length: head without framing headers, body de-chunked.
fn until_close(response: &[u8]) -> Result<Vec<u8>> {
    let head_end = find(response, b"\r\n\r\n").context("response without head")? + 4;
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let mut body = response[head_end..].to_vec();
    let mut out = String::new();
    for (i, line) in head.split("\r\n").filter(|l| !l.is_empty()).enumerate() {
        let lower = line.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&line.replacen("HTTP/1.1", "HTTP/1.0", 1));
        } else if lower.starts_with("transfer-encoding:") {
            let mut rest = Vec::new();
            body = read_chunked(&mut std::io::Cursor::new(body), &mut rest, &mut [0u8; 4096])?;
            continue;
        } else if lower.starts_with("content-length:") || lower.starts_with("connection:") {
            continue;
        } else {
            out.push_str(line);
        }
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

fn read_chunked(tls: &mut impl Read, buf: &mut Vec<u8>, chunk: &mut [u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            let n = tls.read(chunk)?;
            anyhow::ensure!(n > 0, "eof in chunked body");
            buf.extend_from_slice(&chunk[..n]);
        };
        let size_str = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // trailers end with an empty line
            loop {
                if let Some(i) = find(buf, b"\r\n") {
                    let empty = i == 0;
                    buf.drain(..i + 2);
                    if empty {
                        return Ok(body);
                    }
                    continue;
                }
                let n = tls.read(chunk)?;
                anyhow::ensure!(n > 0, "eof in trailers");
                buf.extend_from_slice(&chunk[..n]);
            }
        }
        while buf.len() < size + 2 {
            let n = tls.read(chunk)?;
            anyhow::ensure!(n > 0, "eof in chunk");
            buf.extend_from_slice(&chunk[..n]);
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

/// Chooses the fixture that answers this request.
fn respond(method: &str, path: &str, body: &[u8], responses: &Responses) -> Vec<u8> {
    let api = if path.contains("/chat/completions") {
        Some(Api::OpenAi)
    } else if path.starts_with("/v1/responses") {
        Some(Api::OpenAiResponses)
    } else if path.starts_with("/v1/embeddings") {
        Some(Api::OpenAiEmbeddings)
    } else if path.starts_with("/v1/messages") {
        Some(Api::Anthropic)
    } else if path.contains(":generateContent") || path.contains(":streamGenerateContent") {
        Some(Api::Gemini)
    } else if path.starts_with("/model/") {
        bedrock_api(path)
    } else {
        None
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let (Some(api), "POST", Some(json)) = (api, method, json) else {
        return plain(
            404,
            r#"{"error":{"type":"not_found","message":"no such route"}}"#,
        );
    };
    // Gemini and Bedrock say "stream" in the path, the others in the body.
    let stream = json["stream"].as_bool().unwrap_or(false)
        || path.contains(":stream")
        || path.ends_with("-stream");
    // Converse declares tools in `toolConfig`, the others (and Anthropic on Bedrock) in `tools`.
    let tools = [&json["tools"], &json["toolConfig"]["tools"]]
        .iter()
        .any(|t| t.as_array().is_some_and(|t| !t.is_empty()));
    let name = fixture_name(api, stream, tools);
    match responses.get(&name) {
        Some(r) => r.to_vec(),
        None => plain(
            500,
            &format!(r#"{{"error":{{"message":"no fixture {name}"}}}}"#),
        ),
    }
}

/// `/model/{modelId}/converse[-stream]` or `/model/{modelId}/invoke[-with-response-stream]`.
fn bedrock_api(path: &str) -> Option<Api> {
    match path.rsplit_once('/')?.1 {
        "converse" | "converse-stream" => Some(Api::BedrockConverse),
        "invoke" | "invoke-with-response-stream" => Some(Api::BedrockInvoke),
        _ => None,
    }
}

fn plain(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
