#!/usr/bin/env python3
"""Captures what real HTTP/2 clients write and read on a TLS connection, as the probe sees it.

Starts node's HTTP/2 server (`http2.createSecureServer`, a throwaway self-signed certificate,
h2 offered by ALPN) on 127.0.0.1, answering like the OpenAI and Anthropic APIs with the
response fixtures decode/tests/fixtures/responses/<name>.http (status, headers and body;
HTTP/1-only headers dropped, SSE written in the fixture's chunks, so a stream spans many DATA
frames). Runs the project's own probe (`target/release/aisensor watch --record`), then real
clients: `curl --http2` (one request; and two requests multiplexed on one connection with
`--parallel`) and node's `http2.connect` (two concurrent streams on one session). From the
recording it takes each client's connection -- the plaintext the client passed to SSL_write
and got from SSL_read -- and saves the two directions as

    decode/tests/fixtures/h2/<client>-<case>.write   (preface, SETTINGS, HEADERS, DATA...)
    decode/tests/fixtures/h2/<client>-<case>.read    (the server's frames)
    decode/tests/fixtures/h2/<client>-<case>.calls   (the probe records in the order they
                                                      came: "write N" / "read N" per line)

The order matters: curl resets a stream it is done with, and a test that fed every write
before every read would see that reset before the stream's answer.

Request bodies and API keys are the ones scripts/capture-fixtures.py sends over HTTP/1.1,
so the decoded events must match the HTTP/1.1 fixtures'.

  sudo python3 scripts/capture-h2-fixtures.py     # root (eBPF); needs curl, node, openssl,
                                                  # cargo build --release first
"""
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIX = os.path.join(ROOT, "decode", "tests", "fixtures")
RESP_DIR = os.path.join(FIX, "responses")
OUT_DIR = os.path.join(FIX, "h2")
AISENSOR = os.path.join(ROOT, "target", "release", "aisensor")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def load_h1_capture():
    """scripts/capture-fixtures.py, for its request bodies and keys."""
    spec = importlib.util.spec_from_file_location(
        "capture_fixtures", os.path.join(ROOT, "scripts", "capture-fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- responses ------------------------------------------------------------------------------

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
              "proxy-connection"}


def read_response(name):
    """A response fixture as {status, headers, pieces}: the body in its chunks."""
    with open(os.path.join(RESP_DIR, name + ".http"), "rb") as f:
        raw = f.read()
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
    chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers)
    pieces = []
    if chunked:
        while True:
            line, _, rest = rest.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            pieces.append(rest[:size])
            rest = rest[size + 2:]
    else:
        n = int(next(v for k, v in headers if k.lower() == "content-length"))
        pieces.append(rest[:n])
    headers = [(k.lower(), v) for k, v in headers if k.lower() not in HOP_BY_HOP]
    return {"status": status, "headers": headers,
            "pieces": [p.hex() for p in pieces]}


NODE_SERVER = r"""
const http2 = require('http2');
const fs = require('fs');
const [key, cert, plan] = process.argv.slice(1);
const responses = JSON.parse(fs.readFileSync(plan));
const server = http2.createSecureServer({key: fs.readFileSync(key), cert: fs.readFileSync(cert)});
server.on('stream', (stream, headers) => {
  const parts = [];
  stream.on('data', d => parts.push(d));
  stream.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString());
    const api = headers[':authority'].startsWith('api.anthropic.com') ? 'anthropic-messages' : 'openai-chat';
    const name = api + '-tools' + (body.stream ? '-stream' : '');
    const r = responses[name];
    const h = {':status': r.status};
    for (const [k, v] of r.headers) h[k] = v;
    stream.respond(h);
    // One write per fixture chunk, a little apart: a stream arrives as many DATA frames.
    const pieces = r.pieces.map(p => Buffer.from(p, 'hex'));
    let i = 0;
    const next = () => {
      if (i === pieces.length) { stream.end(); return; }
      stream.write(pieces[i++]);
      setTimeout(next, body.stream ? 5 : 0);
    };
    next();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
"""

NODE_CLIENT = r"""
const http2 = require('http2');
const fs = require('fs');
const [port, ca, host, reqs] = process.argv.slice(1);
const session = http2.connect(`https://${host}:${port}`, {
  ca: fs.readFileSync(ca), lookup: (h, o, cb) => cb(null, o.all ? [{address: '127.0.0.1', family: 4}] : '127.0.0.1', 4),
});
session.on('error', e => { console.error(e); process.exit(1); });
let left = 0;
for (const [path, bodyFile, headers] of JSON.parse(reqs)) {  // all at once: concurrent streams
  left++;
  const body = fs.readFileSync(bodyFile);
  const req = session.request(Object.assign({':method': 'POST', ':path': path,
    'content-type': 'application/json', 'content-length': body.length}, headers));
  const parts = [];
  req.on('response', h => { if (h[':status'] !== 200) { console.error(h); process.exit(1); } });
  req.on('data', d => parts.push(d));
  req.on('end', () => {
    process.stdout.write(Buffer.concat(parts).subarray(0, 40) + '\n');
    if (--left === 0) session.close();
  });
  req.end(body);
}
"""


# ---- the recording --------------------------------------------------------------------------

def read_recording(path):
    """SSL records of the recording: (pid, ssl, direction, offset, data), in order.
    Layouts: event/src/recording.rs and event/src/raw.rs."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != b"AISNREC1":
        raise ValueError("not a recording")
    i, out = 16, []
    while i < len(raw):
        length, kind = struct.unpack_from("<IB", raw, i)
        body = raw[i + 5:i + 5 + length]
        i += 5 + length
        if kind != 0 or len(body) < 64:
            continue
        rkind, flags, pid = struct.unpack_from("<III", body, 0)
        if rkind != 1:
            continue
        ssl, call_len, offset, dlen = struct.unpack_from("<QIII", body, 40)
        direction = body[60]
        if flags & 1:
            raise ValueError("a truncated call: raise max_capture_bytes")
        out.append((pid, ssl, direction, offset, call_len, body[64:64 + dlen]))
    return out


def connections(records, pid):
    """pid's h2 client connections: {ssl: (write bytes, read bytes, [(direction, length)])},
    checking that every call was captured whole."""
    conns, seen = {}, {}
    for rpid, ssl, direction, offset, call_len, data in records:
        if rpid != pid:
            continue
        key = (ssl, direction)
        prev = seen.get(key)  # (offset past the last record, its call's length)
        whole = prev is None or (prev[0] == prev[1] if offset == 0 else prev[0] == offset)
        if not whole:
            raise ValueError(f"bytes lost in pid {pid} ssl {ssl:#x}: rerun")
        seen[key] = (offset + len(data), call_len)
        w, r, order = conns.setdefault(ssl, (bytearray(), bytearray(), []))
        (w if direction == 0 else r).extend(data)
        order.append(("write" if direction == 0 else "read", len(data)))
    return {ssl: (bytes(w), bytes(r), order) for ssl, (w, r, order) in conns.items()
            if w.startswith(PREFACE)}


# ---- cases ----------------------------------------------------------------------------------

def cases(tmp, cap, port, cert):
    def body_file(name, data):
        p = os.path.join(tmp, name + ".json")
        with open(p, "wb") as f:
            f.write(data)
        return p

    oa, an = "/v1/chat/completions", "/v1/messages"
    oh, ah = "api.openai.com", "api.anthropic.com"

    def curl_args(path, host, headers, body):
        argv = ["-H", "Content-Type: application/json"]
        for k, v in headers.items():
            argv += ["-H", f"{k}: {v}"]
        return argv + ["--data-binary", "@" + body, f"https://{host}:{port}{path}"]

    def curl(*reqs):
        # Options hold per transfer: --next starts the next one afresh.
        common = ["-sS", "--fail-with-body", "--http2", "--max-time", "10", "--cacert", cert,
                  "--resolve", f"{oh}:{port}:127.0.0.1", "--resolve", f"{ah}:{port}:127.0.0.1"]
        argv = ["curl"]
        if len(reqs) > 1:
            argv.append("--parallel")  # waits to multiplex the transfers on one connection
        for i, r in enumerate(reqs):
            if i:
                argv.append("--next")
            argv += common + curl_args(*r)
        return argv

    def node(host, reqs):
        return ["node", "-e", NODE_CLIENT, str(port), cert, host, json.dumps(reqs)]

    b = body_file
    return [
        ("curl", "openai-chat-tools",
         curl((oa, oh, cap.OPENAI_HEADERS, b("c1", cap.openai_body(tools=[cap.WEATHER_FN]))))),
        ("curl", "openai-chat-tools-stream",
         curl((oa, oh, cap.OPENAI_HEADERS, b("c2", cap.openai_body(stream=True, tools=[cap.WEATHER_FN]))))),
        ("curl", "parallel-openai-chat-tools-and-stream",
         curl((oa, oh, cap.OPENAI_HEADERS, b("c3", cap.openai_body(tools=[cap.WEATHER_FN]))),
              (oa, oh, cap.OPENAI_HEADERS, b("c4", cap.openai_body(stream=True, tools=[cap.WEATHER_FN]))))),
        ("node", "anthropic-messages-tools-and-stream",
         node(ah, [[an, b("n1", cap.anthropic_body(tools=True)), cap.ANTHROPIC_HEADERS],
                   [an, b("n2", cap.anthropic_body(stream=True, tools=True)), cap.ANTHROPIC_HEADERS]])),
    ]


def main():
    if os.geteuid() != 0:
        sys.exit("capture-h2-fixtures: the probe needs root")
    if not os.path.exists(AISENSOR):
        sys.exit("capture-h2-fixtures: cargo build --release -p aisensor-cli -p aisensor-plugin-source first")
    cap = load_h1_capture()
    responses = {n: read_response(n) for n in
                 ["openai-chat-tools", "openai-chat-tools-stream",
                  "anthropic-messages-tools", "anthropic-messages-tools-stream"]}
    os.makedirs(OUT_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", key, "-out", cert, "-subj", "/CN=api.openai.com",
                        "-addext", "subjectAltName=DNS:api.openai.com,DNS:api.anthropic.com"],
                       check=True, capture_output=True)
        plan = os.path.join(tmp, "plan.json")
        with open(plan, "w") as f:
            json.dump(responses, f)
        server = subprocess.Popen(["node", "-e", NODE_SERVER, key, cert, plan],
                                  stdout=subprocess.PIPE, text=True)
        rec = os.path.join(tmp, "capture.aisrec")
        watch = subprocess.Popen([AISENSOR, "watch", "--record", rec, "--seconds", "60", "--config",
                                  json.dumps({"max_capture_bytes": 1048576})],
                                 stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            port = int(server.stdout.readline())
            line = watch.stderr.readline()
            if "capturing" not in line:
                raise RuntimeError(f"aisensor watch did not start: {line}")
            time.sleep(1)
            pids = {}
            for client, case, argv in cases(tmp, cap, port, cert):
                p = subprocess.run(argv, capture_output=True, timeout=30)
                if p.returncode != 0:
                    raise RuntimeError(f"{client}-{case}: exit {p.returncode}: {p.stderr.decode()[-300:]}")
                pids[f"{client}-{case}"] = p
            time.sleep(2)  # the last records on their way through the ring
        finally:
            watch.send_signal(2)
            try:
                out, err = watch.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                watch.kill()
                out, err = watch.communicate()
            server.kill()
        # Each client ran as one process: find its pid by elimination (the node server's
        # connections are server-side and have no preface on the write side).
        records = read_recording(rec)
        by_pid = {}
        for pid, ssl, direction, offset, call_len, data in records:
            if direction == 0 and offset == 0 and data.startswith(PREFACE):
                by_pid.setdefault(pid, []).append(ssl)
        client_pids = sorted(by_pid)
        names = list(pids)
        if len(client_pids) != len(names):
            sys.exit(f"capture failed: {len(client_pids)} h2 client processes seen, {len(names)} run\n"
                     f"watch said:\n{out}\n{err}")
        for name, pid in zip(names, client_pids):  # pids grow in the order the clients ran
            conns = connections(records, pid)
            if len(conns) != 1:
                sys.exit(f"{name}: {len(conns)} h2 connections, expected 1")
            (w, r, order), = conns.values()
            calls = "".join(f"{d} {n}\n" for d, n in order).encode()
            for ext, data in (("write", w), ("read", r), ("calls", calls)):
                with open(os.path.join(OUT_DIR, f"{name}.{ext}"), "wb") as f:
                    f.write(data)
            print(f"captured {name}: {len(w)} bytes written, {len(r)} read")
        print("aisensor watch saw:\n" + out)


if __name__ == "__main__":
    main()
