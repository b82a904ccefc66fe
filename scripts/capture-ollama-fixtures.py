#!/usr/bin/env python3
"""Captures Ollama native API exchanges: what the official Python client (`ollama` on PyPI,
pinned below) and curl send, and what a server answering like Ollama sends back.

Starts a plain-HTTP server on 127.0.0.1:11434 (Ollama's port, loopback only: nothing leaves
the host) that answers /api/chat, /api/generate, /api/embed and /api/embeddings as Ollama's Go
server does (docs/api.md of ollama/ollama): NDJSON streams (`application/x-ndjson`, one JSON
object per line, one HTTP chunk per line, streamed unless the request says `"stream": false`,
the last line `"done": true` with `done_reason` and the token counts), single JSON objects
(`application/json; charset=utf-8`, Content-Length), `{"error": "..."}` bodies with the status,
and an `{"error": "..."}` line in the middle of a stream. It picks its answer from the request
as Ollama would (path, stream flag, tools, model). Every byte each client sent on its
connection, and every byte the server sent back, is written to

    decode/tests/fixtures/ollama/requests/<client>-<case>.http
    decode/tests/fixtures/ollama/responses/<answer>.http

Clients must accept what they get (the Python client parses and validates every line), so an
answer a real client rejects fails the capture. Dates and timings are fixed: a re-run writes
the same responses; requests change only with the client's version (its User-Agent).

  pip install ollama==0.6.3
  python3 scripts/capture-ollama-fixtures.py      # needs python3 and curl
"""
import json
import os
import socket
import subprocess
import sys
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIX = os.path.join(ROOT, "decode", "tests", "fixtures", "ollama")
REQ_DIR = os.path.join(FIX, "requests")
RESP_DIR = os.path.join(FIX, "responses")
PORT = 11434
CLIENT_VERSION = "0.6.3"

DATE = "Mon, 23 Nov 2026 00:41:15 GMT"
QUESTION = "What's the weather in Paris right now?"
SUNNY = ["Paris", " is", " sunny", " today", ",", " around", " 18", "°C", "."]
MODEL = "llama3.2"
EMBED_MODEL = "all-minilm"
# The model tag the server answers with a stream that fails half-way (a crashed runner).
BROKEN = "llama3.2:broken"
MISSING = "x"


def created(i):
    """`created_at` as Go writes a time.Time: RFC 3339 with nanoseconds."""
    return f"2026-11-23T00:41:15.{123456789 + i * 11_000_000:09d}Z"


def compact(v):
    # Go's encoding/json: no spaces, non-ASCII as UTF-8.
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


def metrics(prompt, out):
    return {"total_duration": 812000000, "load_duration": 21000000, "prompt_eval_count": prompt,
            "prompt_eval_duration": 95000000, "eval_count": out, "eval_duration": 690000000}


# ---- answers, framed as Go's net/http frames them --------------------------------------------

def whole(obj, status="200 OK"):
    body = compact(obj)
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Date: {DATE}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def ndjson(objs):
    """One chunk per line: Ollama writes each object and a newline, then flushes."""
    out = (f"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nDate: {DATE}\r\n"
           "Transfer-Encoding: chunked\r\n\r\n").encode()
    for o in objs:
        line = compact(o) + b"\n"
        out += b"%x\r\n" % len(line) + line + b"\r\n"
    return out + b"0\r\n\r\n"


def chat_msg(i, content, **extra):
    return {"model": MODEL, "created_at": created(i),
            "message": {"role": "assistant", "content": content, **extra}, "done": False}


def chat_done(i, prompt, out):
    return {"model": MODEL, "created_at": created(i), "message": {"role": "assistant", "content": ""},
            "done_reason": "stop", "done": True, **metrics(prompt, out)}


# Newer Ollama versions give a tool call an id and an index; older ones neither. Arguments are
# a JSON object, not a string.
CALL_NEW = {"id": "call_k3qf9z2m", "function": {"index": 0, "name": "get_weather",
                                                "arguments": {"city": "Paris"}}}
CALL_OLD = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}


def answers():
    a = {}
    a["ollama-chat"] = whole({
        "model": MODEL, "created_at": created(0),
        "message": {"role": "assistant", "content": "".join(SUNNY)},
        "done_reason": "stop", "done": True, **metrics(31, 12)})
    a["ollama-chat-stream"] = ndjson(
        [chat_msg(i, t) for i, t in enumerate(SUNNY)] + [chat_done(len(SUNNY), 31, 12)])
    # Streamed, the calls come whole in one message, then the done line.
    a["ollama-chat-tools-stream"] = ndjson([
        chat_msg(0, "", tool_calls=[CALL_NEW]), chat_done(1, 168, 17)])
    a["ollama-chat-tools"] = whole({
        "model": MODEL, "created_at": created(0),
        "message": {"role": "assistant", "content": "", "tool_calls": [CALL_OLD]},
        "done_reason": "stop", "done": True, **metrics(168, 17)})
    a["ollama-chat-stream-error"] = ndjson(
        [{**chat_msg(i, t), "model": BROKEN} for i, t in enumerate(SUNNY[:3])]
        + [{"error": "an error was encountered while running the model: unexpected EOF"}])
    a["ollama-chat-error"] = whole(
        {"error": f'model "{MISSING}" not found, try pulling it first'}, "404 Not Found")
    gen = [{"model": MODEL, "created_at": created(i), "response": t, "done": False}
           for i, t in enumerate(SUNNY)]
    gen.append({"model": MODEL, "created_at": created(len(SUNNY)), "response": "", "done": True,
                "done_reason": "stop", "context": [128006, 882, 128007, 271, 3923, 596],
                **metrics(33, 12)})
    a["ollama-generate-stream"] = ndjson(gen)
    vec = [0.010071031, -0.0017594865, 0.050072223, 0.046929732]
    a["ollama-embed"] = whole({"model": EMBED_MODEL, "embeddings": [vec],
                               "total_duration": 14143917, "load_duration": 1019500,
                               "prompt_eval_count": 10})
    a["ollama-embeddings"] = whole({"embedding": vec})
    return a


def route(path, req):
    """The answer Ollama would give to this request."""
    model = req.get("model", "")
    if model == MISSING:
        return "ollama-chat-error"
    if path == "/api/embed":
        return "ollama-embed"
    if path == "/api/embeddings":
        return "ollama-embeddings"
    stream = req.get("stream", True)  # Ollama streams unless told not to
    if path == "/api/generate" and stream:
        return "ollama-generate-stream"
    if path == "/api/chat":
        if model == BROKEN and stream:
            return "ollama-chat-stream-error"
        if req.get("tools"):
            return "ollama-chat-tools-stream" if stream else "ollama-chat-tools"
        return "ollama-chat-stream" if stream else "ollama-chat"
    raise ValueError(f"no answer for {path} {req}")


# ---- the server -------------------------------------------------------------------------------

class Server:
    """Answers each request on a connection; keeps every byte read and written, per connection."""

    def __init__(self, answers):
        self.answers = answers
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", PORT))
        self.sock.listen(8)
        # (bytes received, bytes sent, answers given, closed) per connection
        self.conns = []
        self.errors = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            rec = (bytearray(), bytearray(), [], threading.Event())
            self.conns.append(rec)
            threading.Thread(target=self.handle, args=(conn, rec), daemon=True).start()

    def handle(self, conn, rec):
        received, sent, given, closed = rec
        conn.settimeout(10)
        pending = b""
        try:
            while True:
                head, body, pending = self.read_request(conn, pending, received)
                if head is None:
                    return
                path = head.split(b" ")[1].decode()
                name = route(path, json.loads(body))
                given.append(name)
                conn.sendall(self.answers[name])
                sent.extend(self.answers[name])
        except Exception as e:  # reported by the caller, which fails the capture
            self.errors.append(repr(e))
        finally:
            conn.close()
            closed.set()

    @staticmethod
    def read_request(conn, buf, raw):
        def more():
            d = conn.recv(65536)
            raw.extend(d)
            return d

        while b"\r\n\r\n" not in buf:
            d = more()
            if not d:
                return None, None, b""
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            fields[k.strip().lower()] = v.strip()
        if b"transfer-encoding" in fields:
            raise ValueError("a chunked request: not expected from these clients")
        n = int(fields.get(b"content-length", b"0"))
        while len(rest) < n:
            d = more()
            if not d:
                raise ValueError("connection closed in a request body")
            rest += d
        return head, rest[:n], rest[n:]


# ---- clients ----------------------------------------------------------------------------------

PY_CLIENT = r"""
import json, sys, ollama
case = sys.argv[1]
tools = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a given city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                   "required": ["city"]}}}]
msgs = [{"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION}]
c = ollama.Client()  # http://127.0.0.1:11434, as without OLLAMA_HOST
if case == "chat":
    print(c.chat(model="llama3.2", messages=msgs, stream=False).message.content)
elif case == "chat-stream":
    print("".join(p.message.content for p in c.chat(model="llama3.2", messages=msgs, stream=True)))
elif case == "chat-tools-stream":
    calls = [t for p in c.chat(model="llama3.2", messages=msgs, tools=tools, stream=True)
             for t in (p.message.tool_calls or [])]
    assert calls[0].function.name == "get_weather" and calls[0].function.arguments == {"city": "Paris"}
    print(calls)
elif case == "generate-stream":
    print("".join(p.response for p in c.generate(model="llama3.2", prompt=QUESTION, stream=True)))
elif case == "embed":
    r = c.embed(model="all-minilm", input=QUESTION)
    assert r.prompt_eval_count == 10 and len(r.embeddings[0]) == 4
elif case == "embeddings":
    assert len(c.embeddings(model="all-minilm", prompt=QUESTION).embedding) == 4
elif case == "chat-error":
    try:
        c.chat(model="x", messages=msgs, stream=False)
        sys.exit("no error")
    except ollama.ResponseError as e:
        assert e.status_code == 404 and "not found" in e.error, e
elif case == "chat-stream-error":
    got = []
    try:
        for p in c.chat(model="llama3.2:broken", messages=msgs, stream=True):
            got.append(p.message.content)
        sys.exit("no error")
    except ollama.ResponseError as e:
        assert "unexpected EOF" in e.error and got == ["Paris", " is", " sunny"], (e, got)
""".replace("QUESTION", repr(QUESTION))

# As in Ollama's API docs: `-d` (so curl says application/x-www-form-urlencoded), a JSON text
# written by hand, and no `stream` field in the first: a streamed answer.
CURL_CHAT = """{
  "model": "llama3.2",
  "messages": [
    {
      "role": "user",
      "content": "QUESTION"
    }
  ]
}""".replace("QUESTION", QUESTION)
CURL_CHAT_TOOLS = """{
  "model": "llama3.2",
  "messages": [
    {
      "role": "user",
      "content": "QUESTION"
    }
  ],
  "stream": false,
  "tools": [
    {
      "type": "function",
      "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given city",
        "parameters": {
          "type": "object",
          "properties": {
            "city": {"type": "string", "description": "City name"}
          },
          "required": ["city"]
        }
      }
    }
  ]
}""".replace("QUESTION", QUESTION)


def cases():
    """(fixture name, argv, answers the server must have given)."""
    py = lambda case: [sys.executable, "-c", PY_CLIENT, case]  # noqa: E731
    curl = lambda body: ["curl", "-sS", "--noproxy", "*", "--max-time", "10",  # noqa: E731
                         f"http://localhost:{PORT}/api/chat", "-d", body]
    return [
        ("python-ollama-chat", py("chat"), ["ollama-chat"]),
        ("python-ollama-chat-stream", py("chat-stream"), ["ollama-chat-stream"]),
        ("python-ollama-chat-tools-stream", py("chat-tools-stream"), ["ollama-chat-tools-stream"]),
        ("python-ollama-generate-stream", py("generate-stream"), ["ollama-generate-stream"]),
        ("python-ollama-embed", py("embed"), ["ollama-embed"]),
        ("python-ollama-embeddings", py("embeddings"), ["ollama-embeddings"]),
        ("python-ollama-chat-error", py("chat-error"), ["ollama-chat-error"]),
        ("python-ollama-chat-stream-error", py("chat-stream-error"), ["ollama-chat-stream-error"]),
        ("curl-ollama-chat-stream", curl(CURL_CHAT), ["ollama-chat-stream"]),
        ("curl-ollama-chat-tools", curl(CURL_CHAT_TOOLS), ["ollama-chat-tools"]),
    ]


def main():
    import importlib.metadata
    have = importlib.metadata.version("ollama")
    if have != CLIENT_VERSION:
        sys.exit(f"ollama {have} installed; the fixtures are made with {CLIENT_VERSION}: "
                 f"pip install ollama=={CLIENT_VERSION}")
    # The clients talk to the loopback server only: no proxy, no other Ollama host, no key.
    env = {k: v for k, v in os.environ.items()
           if not k.upper().endswith("_PROXY") and not k.startswith("OLLAMA_")}
    server = Server(answers())
    os.makedirs(REQ_DIR, exist_ok=True)
    os.makedirs(RESP_DIR, exist_ok=True)
    failed, written = [], {}
    for name, argv, want in cases():
        before = len(server.conns)
        p = subprocess.run(argv, capture_output=True, timeout=30, env=env)
        try:
            if p.returncode != 0:
                raise ValueError(f"exit {p.returncode}: {p.stderr.decode(errors='replace')[-400:]}")
            if len(server.conns) != before + 1:
                raise ValueError(f"{len(server.conns) - before} connections, expected 1")
            received, sent, given, closed = server.conns[-1]
            if not closed.wait(10):  # the client is gone: its connection ends with it
                raise ValueError("the connection stayed open")
            if given != want:
                raise ValueError(f"answered {given}, expected {want}")
        except Exception as e:
            failed.append(f"{name}: {e}")
            continue
        with open(os.path.join(REQ_DIR, name + ".http"), "wb") as f:
            f.write(bytes(received))
        print(f"captured requests/{name}.http ({len(received)} bytes)")
        # Each answer once, as it went over the socket.
        for answer in given:
            data = server.answers[answer]
            assert bytes(sent).count(data) == 1
            if answer not in written:
                with open(os.path.join(RESP_DIR, answer + ".http"), "wb") as f:
                    f.write(data)
                written[answer] = len(data)
                print(f"captured responses/{answer}.http ({len(data)} bytes)")
    unused = set(server.answers) - set(written)
    if unused:
        failed.append(f"answers no client asked for: {sorted(unused)}")
    if server.errors or failed:
        sys.exit("capture failed:\n  " + "\n  ".join(server.errors + failed))


if __name__ == "__main__":
    main()
