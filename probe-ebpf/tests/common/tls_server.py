"""A throwaway HTTPS server for the probe's tests: 127.0.0.1 only, stdlib only.

Usage: tls_server.py CERT KEY. Prints the port it listens on, then serves until killed. Each
connection: read the request head (and a Content-Length body, if any), answer
"pong <path>" and close. A connection that sends no head (a raw blob) is read to EOF.
"""
import socket
import ssl
import sys
import threading

cert, key = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
print(srv.getsockname()[1], flush=True)


def serve(conn):
    try:
        with ctx.wrap_socket(conn, server_side=True) as s:
            s.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1] if b" " in lines[0] else b"/"
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            reply = b"pong " + path
            s.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(reply)
                + reply
            )
    except Exception as e:  # a test client that hangs up early is not our problem
        print("server:", e, file=sys.stderr, flush=True)


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
