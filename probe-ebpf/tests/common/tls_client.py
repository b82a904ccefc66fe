"""TLS client for the probe's tests (Python's _ssl calls SSL_read_ex / SSL_write_ex).

  tls_client.py PORT get PATH          one GET, prints the reply
  tls_client.py PORT post PATH NBYTES  one POST whose head and NBYTES-byte body go out in a
                                       single sendall (one SSL_write_ex call); body byte i is
                                       (i * 7 + i // 251) % 256
"""
import socket
import ssl
import sys

port, mode, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as s:
    if mode == "get":
        s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
    else:
        n = int(sys.argv[4])
        body = bytes((i * 7 + i // 251) % 256 for i in range(n))
        head = b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (
            path.encode(),
            n,
        )
        s.sendall(head + body)
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    sys.stdout.write(reply.decode(errors="replace"))
