#!/usr/bin/env python3
"""Test client (Python standard library: ssl -> OpenSSL SSL_read_ex/SSL_write_ex).

Talks to the test server on 127.0.0.1 under a provider's host name (TLS SNI, certificate
check and Host header all use the real name), like an agent would.

  py_client.py PORT CAFILE HOST MODE [PATH BODYFILE COUNT HEADER...]

MODE: requests  COUNT keep-alive POSTs of BODYFILE to PATH on one connection
      garbage   random bytes over TLS, then close
      cut       a request head and part of its body, then die without closing
      other     a non-HTTP line protocol over TLS
      http10    one HTTP/1.0 POST of BODYFILE to PATH (the response runs until the server
                closes), then close the connection and stay alive COUNT more seconds, as an
                agent does between calls
"""
import http.client
import os
import socket
import ssl
import sys
import time


def tls_socket(port, cafile, host):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", port))
    # As urllib3/httpx do: http.client writes headers and body separately, and without
    # TCP_NODELAY each exchange would wait ~40 ms for a delayed ACK.
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(raw, server_hostname=host)


def main():
    port, cafile, host, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    if mode == "requests":
        path, body_file, count = sys.argv[5], sys.argv[6], int(sys.argv[7])
        headers = {"Content-Type": "application/json"}
        for h in sys.argv[8:]:
            k, v = h.split(":", 1)
            headers[k.strip()] = v.strip()
        with open(body_file, "rb") as f:
            body = f.read()
        conn = http.client.HTTPSConnection(host, port)
        conn.sock = tls_socket(port, cafile, host)
        for _ in range(count):
            conn.request("POST", path, body, headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                sys.exit(f"status {resp.status}")
        conn.close()
        print(f"ok {count}")
    elif mode == "http10":
        path, body_file, linger = sys.argv[5], sys.argv[6], int(sys.argv[7])
        with open(body_file, "rb") as f:
            body = f.read()
        s = tls_socket(port, cafile, host)
        extra = "".join(h.strip() + "\r\n" for h in sys.argv[8:])
        s.sendall(
            f"POST {path} HTTP/1.0\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        s.close()
        if not reply.startswith(b"HTTP/1.0 200"):
            sys.exit(f"unexpected reply {reply[:100]!r}")
        print("ok", flush=True)
        time.sleep(linger)
    elif mode == "garbage":
        s = tls_socket(port, cafile, host)
        s.sendall(os.urandom(4096))
        s.close()
    elif mode == "cut":
        s = tls_socket(port, cafile, host)
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
            + b'{"model":"gpt-4o","messages":['
        )
        os._exit(0)
    elif mode == "other":
        s = tls_socket(port, cafile, host)
        s.sendall(b"EHLO agent.example\r\nMAIL FROM:<a@b.c>\r\nQUIT\r\n")
        s.close()
    else:
        sys.exit(f"unknown mode {mode}")


main()
