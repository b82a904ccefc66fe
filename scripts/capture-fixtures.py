#!/usr/bin/env python3
"""Captures the exact bytes real HTTP clients send to the OpenAI and Anthropic APIs.

Starts a plain-HTTP server on 127.0.0.1 (loopback only, nothing leaves the host), runs real
clients against it -- curl, python's urllib.request and http.client, node's http module --
and saves every byte each client sent on its connection to

    decode/tests/fixtures/requests/<client>-<case>.http

The server answers each request with a response fixture, decode/tests/fixtures/responses/
<name>.http, byte for byte. It first (re)writes those: the base set with
scripts/make-response-fixtures.py, then the extra ones below (parallel tool calls, br, zstd,
errors) in the same style. Framing (chunk sizes, Content-Length) is computed, never typed.
The clients must accept every response (curl checks chunked framing and decodes gzip, br,
zstd; python and node parse what they get), so a fixture that a real client would reject
fails the capture.

  python3 scripts/capture-fixtures.py            # needs curl, python3, node, zstd
"""
import gzip
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIX = os.path.join(ROOT, "decode", "tests", "fixtures")
REQ_DIR = os.path.join(FIX, "requests")
RESP_DIR = os.path.join(FIX, "responses")

OPENAI_KEY = "sk-proj-fixtureTESTKEY0123456789"  # fake, and too short for any scanner
ANTHROPIC_KEY = "sk-ant-api03-fixtureTESTKEY0123456789"


def load_base():
    """Runs make-response-fixtures.py (it writes the base responses) and returns its helpers."""
    spec = importlib.util.spec_from_file_location(
        "make_response_fixtures", os.path.join(ROOT, "scripts", "make-response-fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- extra responses ------------------------------------------------------------------------

def pieces(data, size):
    """`data` cut into HTTP chunks of `size` bytes, as a proxy that re-chunks sends them."""
    return [data[i:i + size] for i in range(0, len(data), size)]


def node_brotli(data):
    out = subprocess.run(
        ["node", "-e", "process.stdout.write(require('zlib').brotliCompressSync(require('fs').readFileSync(0)))"],
        input=data, capture_output=True, check=True)
    return out.stdout


def zstd_compress(data):
    # Level 3 with the frame checksum, as zstd's defaults (and most servers) produce.
    return subprocess.run(["zstd", "-q", "-3", "-c", "--check"], input=data, capture_output=True,
                          check=True).stdout


def extra_responses(m):
    """Responses beyond the base set, built with the base script's helpers and headers."""
    out = {}

    # OpenAI: two parallel tool calls, each call's arguments in fragments, cached prompt tokens.
    ev = [m.openai_chunk({"role": "assistant", "content": None, "refusal": None})]
    calls = [("call_Weather0000000000000001", "get_weather", ["{\"", "city", "\":\"", "Par", "is\"}"]),
             ("call_Time00000000000000000002", "get_time", ["{\"tz\":", "\"Europe/", "Paris\"}"])]
    for i, (cid, name, frags) in enumerate(calls):
        ev.append(m.openai_chunk({"tool_calls": [{"index": i, "id": cid, "type": "function",
                                                  "function": {"name": name, "arguments": ""}}]}))
        for f in frags:
            ev.append(m.openai_chunk({"tool_calls": [{"index": i, "function": {"arguments": f}}]}))
    ev.append(m.openai_chunk({}, finish="tool_calls"))
    ev.append(m.openai_chunk(None, choices=False, usage={
        "prompt_tokens": 1310, "completion_tokens": 52, "total_tokens": 1362,
        "prompt_tokens_details": {"cached_tokens": 1152, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}))
    ev.append(b"data: [DONE]\n\n")
    out["openai-chat-tools-parallel-stream"] = m.response(m.sse_headers(m.OPENAI_HEADERS), m.split_some(ev))

    # OpenAI: a JSON answer brotli-compressed, framed by Content-Length.
    body = m.compact(m.openai_json(False)).encode()
    out["openai-chat-br"] = m.response(m.OPENAI_HEADERS + [("Content-Encoding", "br")],
                                       [node_brotli(body)], chunk=False)

    # Anthropic: the tool-use stream zstd-compressed (what Claude Code asks for and gets),
    # re-chunked at sizes unrelated to event boundaries.
    body = b"".join(m.anthropic_stream(True))
    out["anthropic-messages-tools-stream-zstd"] = m.response(
        m.sse_headers(m.ANTHROPIC_HEADERS) + [("Content-Encoding", "zstd")], pieces(zstd_compress(body), 97))

    # Anthropic: overloaded in the middle of a stream (an `error` event, HTTP status still 200).
    ev = m.anthropic_stream(False)[:4] + [m.an_event("error", {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
    out["anthropic-messages-stream-error"] = m.response(m.sse_headers(m.ANTHROPIC_HEADERS), ev)

    # Anthropic: overloaded before answering (529, JSON error body).
    err = m.compact({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                     "request_id": "req_011CVaisensorOverloaded01"}).encode()
    out["anthropic-messages-error"] = m.response(m.ANTHROPIC_HEADERS + [("x-should-retry", "true")], [err],
                                                 chunk=False).replace(b"200 OK", b"529 ", 1)
    return out


# ---- request bodies, as the SDKs build them -------------------------------------------------

WEATHER_FN = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a given city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                   "required": ["city"], "additionalProperties": False}, "strict": True}}
TIME_FN = {"type": "function", "function": {
    "name": "get_time", "description": "Current local time in an IANA time zone",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}
WEATHER_TOOL = {"name": "get_weather", "description": "Get the current weather in a given city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}
QUESTION = "What's the weather in Paris right now?"


def openai_body(stream=False, tools=(), parts=False, model="gpt-4o"):
    b = {"model": model, "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}] if parts else QUESTION}]}
    if tools:
        b["tools"] = list(tools)
        b["tool_choice"] = "auto"
    if stream:
        b["stream"] = True
        b["stream_options"] = {"include_usage": True}
    return json.dumps(b).encode()


def anthropic_body(stream=False, tools=False, parts=False):
    b = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "You are a helpful assistant.",
         "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}] if parts else QUESTION}]}
    if tools:
        b["tools"] = [WEATHER_TOOL]
    if stream:
        b["stream"] = True
    return json.dumps(b, separators=(",", ":")).encode()


# ---- the capture server ---------------------------------------------------------------------

class Capture:
    """Loopback server: answers each request on a connection with the next queued response,
    and keeps every byte the client sent."""

    def __init__(self, responses):
        self.responses = responses
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.queue = []
        self.received = []  # bytes per connection, in order of acceptance
        self.errors = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            buf = bytearray()
            self.received.append(buf)
            threading.Thread(target=self.handle, args=(conn, buf), daemon=True).start()

    def handle(self, conn, raw):
        conn.settimeout(10)
        pending = b""
        try:
            while True:
                req, pending = self.read_request(conn, pending, raw)
                if req is None:
                    return
                if not self.queue:
                    self.errors.append("a request with no response queued")
                    return
                conn.sendall(self.responses[self.queue.pop(0)])
        except Exception as e:  # reported by the caller, which fails the capture
            self.errors.append(repr(e))
        finally:
            conn.close()

    def read_request(self, conn, buf, raw):
        def more():
            d = conn.recv(65536)
            raw.extend(d)
            return d

        while b"\r\n\r\n" not in buf:
            d = more()
            if not d:
                return None, b""
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            fields[k.strip().lower()] = v.strip()
        if fields.get(b"expect", b"").lower() == b"100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            while True:  # read up to the last chunk and the empty trailer line
                end = self.chunked_end(rest)
                if end is not None:
                    return head, rest[end:]
                d = more()
                if not d:
                    raise ValueError("connection closed in a chunked request body")
                rest += d
        n = int(fields.get(b"content-length", b"0"))
        while len(rest) < n:
            d = more()
            if not d:
                raise ValueError("connection closed in a request body")
            rest += d
        return head, rest[n:]

    @staticmethod
    def chunked_end(b):
        i = 0
        while True:
            j = b.find(b"\r\n", i)
            if j < 0:
                return None
            size = int(b[i:j].split(b";")[0], 16)
            if size == 0:
                k = b.find(b"\r\n\r\n", j)
                return None if k < 0 else k + 4
            i = j + 2 + size + 2
            if i > len(b):
                return None


# ---- clients --------------------------------------------------------------------------------

PY_URLLIB = r"""
import gzip, json, sys, urllib.request
port, path, host, body, headers = sys.argv[1], sys.argv[2], sys.argv[3], open(sys.argv[4], "rb").read(), json.loads(sys.argv[5])
req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                             headers={"Host": host, "Content-Type": "application/json", **headers})
with urllib.request.urlopen(req, timeout=10) as r:
    data = r.read()
    if r.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
sys.stdout.buffer.write(data)
"""

PY_HTTP_CLIENT = r"""
import http.client, json, sys
port, host, reqs = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for path, body_file, headers in reqs:  # one keep-alive connection
    c.putrequest("POST", path, skip_host=True)
    c.putheader("Host", host)
    body = open(body_file, "rb").read()
    for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
        c.putheader(k, v)
    c.endheaders(body)
    r = c.getresponse()
    sys.stdout.buffer.write(r.read() + b"\n")
"""

NODE_HTTP = r"""
const http = require('http');
const fs = require('fs');
const [port, path, host, bodyFile, headers, mode] = process.argv.slice(1);
const body = fs.readFileSync(bodyFile);
const h = Object.assign({host, 'content-type': 'application/json'}, JSON.parse(headers));
if (mode !== 'chunked') h['content-length'] = body.length;
const req = http.request({hostname: '127.0.0.1', port: +port, path, method: 'POST', headers: h}, res => {
  const parts = [];
  res.on('data', d => parts.push(d));
  res.on('end', () => { process.stdout.write(Buffer.concat(parts)); process.exit(0); });
});
req.on('error', e => { console.error(e); process.exit(1); });
if (mode === 'chunked') {
  // No length: node sends Transfer-Encoding: chunked, one chunk per write, as SDKs streaming
  // a body do.
  const cut = Math.floor(body.length / 3);
  req.write(body.subarray(0, cut));
  setTimeout(() => { req.write(body.subarray(cut)); req.end(); }, 20);
} else {
  req.end(body);
}
"""

OPENAI_HEADERS = {"Authorization": "Bearer " + OPENAI_KEY}
ANTHROPIC_HEADERS = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}


def cases(tmp):
    """(client, case, responses answering it, argv, check of what the client printed)."""
    def body_file(name, data):
        p = os.path.join(tmp, name + ".json")
        with open(p, "wb") as f:
            f.write(data)
        return p

    def curl(path, host, headers, body, compressed=False):
        argv = ["curl", "-sS", "--fail-with-body", "--max-time", "10", "-H", f"Host: {host}",
                "-H", "Content-Type: application/json"]
        if compressed:
            argv.append("--compressed")
        for k, v in headers.items():
            argv += ["-H", f"{k}: {v}"]
        return argv + ["--data-binary", "@" + body, "http://127.0.0.1:{port}" + path]

    def urllib(path, host, headers, body):
        return [sys.executable, "-c", PY_URLLIB, "{port}", path, host, body, json.dumps(headers)]

    def node(path, host, headers, body, mode=""):
        return ["node", "-e", NODE_HTTP, "{port}", path, host, body, json.dumps(headers), mode]

    oa, an = "/v1/chat/completions", "/v1/messages"
    oh, ah = "api.openai.com", "api.anthropic.com"
    b = body_file
    return [
        ("curl", "openai-chat", ["openai-chat"],
         curl(oa, oh, OPENAI_HEADERS, b("c1", openai_body()), compressed=True), is_json),
        ("curl", "openai-chat-tools-stream", ["openai-chat-tools-stream"],
         curl(oa, oh, OPENAI_HEADERS, b("c2", openai_body(stream=True, tools=[WEATHER_FN]))), is_sse),
        ("curl", "anthropic-messages-tools", ["anthropic-messages-tools"],
         curl(an, ah, ANTHROPIC_HEADERS, b("c3", anthropic_body(tools=True))), is_json),
        ("curl", "anthropic-messages-tools-stream-zstd", ["anthropic-messages-tools-stream-zstd"],
         curl(an, ah, ANTHROPIC_HEADERS, b("c4", anthropic_body(stream=True, tools=True)), compressed=True),
         is_sse),
        ("curl", "openai-chat-br", ["openai-chat-br"],
         curl(oa, oh, OPENAI_HEADERS, b("c5", openai_body(model="gpt-4o-mini")), compressed=True), is_json),
        ("python-urllib", "openai-chat-tools", ["openai-chat-tools"],
         urllib(oa, oh, {**OPENAI_HEADERS, "Accept-Encoding": "gzip"},
                b("p1", openai_body(tools=[WEATHER_FN], parts=True))), is_json),
        ("python-urllib", "anthropic-messages-stream", ["anthropic-messages-stream"],
         urllib(an, ah, ANTHROPIC_HEADERS, b("p2", anthropic_body(stream=True, parts=True))), is_sse),
        ("python-urllib", "anthropic-messages-error", ["anthropic-messages-error"],
         urllib(an, ah, ANTHROPIC_HEADERS, b("p3", anthropic_body())), None),
        ("python-http.client", "openai-keepalive", ["openai-chat-stream", "openai-chat-tools-parallel-stream"],
         [sys.executable, "-c", PY_HTTP_CLIENT, "{port}", oh, json.dumps([
             [oa, b("h1", openai_body(stream=True)), OPENAI_HEADERS],
             [oa, b("h2", openai_body(stream=True, tools=[WEATHER_FN, TIME_FN])), OPENAI_HEADERS]])],
         is_sse),
        ("node", "openai-chat-tools-stream-chunked", ["openai-chat-tools-stream"],
         node(oa, oh, OPENAI_HEADERS, b("n1", openai_body(stream=True, tools=[WEATHER_FN])), "chunked"), is_sse),
        ("node", "anthropic-messages-tools-stream", ["anthropic-messages-tools-stream"],
         node(an, ah, ANTHROPIC_HEADERS, b("n2", anthropic_body(stream=True, tools=True))), is_sse),
        ("node", "anthropic-messages-stream-error", ["anthropic-messages-stream-error"],
         node(an, ah, ANTHROPIC_HEADERS, b("n3", anthropic_body(stream=True))), is_sse),
    ]


def is_json(out):
    json.loads(out)


def is_sse(out):
    if b"data: " not in out:
        raise ValueError("no SSE data lines")


def main():
    base = load_base()
    extra = extra_responses(base)
    for name, data in extra.items():
        with open(os.path.join(RESP_DIR, name + ".http"), "wb") as f:
            f.write(data)
    responses = {}
    for fn in os.listdir(RESP_DIR):
        if fn.endswith(".http"):
            with open(os.path.join(RESP_DIR, fn), "rb") as f:
                responses[fn[:-5]] = f.read()

    server = Capture(responses)
    os.makedirs(REQ_DIR, exist_ok=True)
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for client, case, answers, argv, check in cases(tmp):
            server.queue = list(answers)
            before = len(server.received)
            argv = [a.replace("{port}", str(server.port)) for a in argv]
            p = subprocess.run(argv, capture_output=True, timeout=30)
            name = f"{client}-{case}"
            try:
                if case.endswith("-error") and "urllib" in client:
                    if b"HTTP Error 529" not in p.stderr:
                        raise ValueError(p.stderr.decode(errors="replace")[-300:])
                elif p.returncode != 0:
                    raise ValueError(f"exit {p.returncode}: {p.stderr.decode(errors='replace')[-300:]}")
                if check:
                    check(p.stdout if client != "python-http.client" else p.stdout.split(b"\n", 1)[0])
                if server.queue:
                    raise ValueError(f"responses not asked for: {server.queue}")
                if len(server.received) != before + 1:
                    raise ValueError(f"{len(server.received) - before} connections, expected 1")
            except Exception as e:
                failed.append(f"{name}: {e}")
                continue
            with open(os.path.join(REQ_DIR, name + ".http"), "wb") as f:
                f.write(bytes(server.received[-1]))
            print(f"captured {name}.http ({len(server.received[-1])} bytes)")
    if server.errors or failed:
        sys.exit("capture failed:\n  " + "\n  ".join(server.errors + failed))


if __name__ == "__main__":
    main()
