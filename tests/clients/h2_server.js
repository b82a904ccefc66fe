// HTTP/2 test server (node's http2 over TLS, h2 offered by ALPN) for the end-to-end tests.
// h2_server.js KEYFILE CERTFILE FIXTURES_DIR -- prints the port it listens on (127.0.0.1).
// Answers like the API the request's :authority names, with the HTTP/1.1 response fixture
// <api>-tools[-stream].http: its status and headers (HTTP/1-only ones dropped) and its body,
// one fixture chunk per write a few ms apart, so a stream spans many DATA frames. node links
// OpenSSL in, so the probe sees this side too: as a server, which aisensor ignores.
const http2 = require('http2');
const fs = require('fs');
const path = require('path');

const [keyFile, certFile, dir] = process.argv.slice(2);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);

function fixture(name) {
  const raw = fs.readFileSync(path.join(dir, name + '.http'));
  const end = raw.indexOf('\r\n\r\n');
  const lines = raw.subarray(0, end).toString().split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  let chunked = false;
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    if (k === 'transfer-encoding' && v.includes('chunked')) chunked = true;
    if (!HOP_BY_HOP.has(k)) headers[k] = v;
  }
  let rest = raw.subarray(end + 4);
  const pieces = [];
  if (!chunked) {
    pieces.push(rest);
  } else {
    for (;;) {
      const nl = rest.indexOf('\r\n');
      const size = parseInt(rest.subarray(0, nl).toString().split(';')[0], 16);
      if (size === 0) break;
      pieces.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
  }
  return { status, headers, pieces };
}

const server = http2.createSecureServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) });
server.on('stream', (stream, headers) => {
  const parts = [];
  stream.on('data', (d) => parts.push(d));
  stream.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString());
    const api = headers[':authority'].startsWith('api.anthropic.com') ? 'anthropic-messages' : 'openai-chat';
    const r = fixture(api + '-tools' + (body.stream ? '-stream' : ''));
    stream.respond(Object.assign({ ':status': r.status }, r.headers));
    let i = 0;
    const next = () => {
      if (i === r.pieces.length) return stream.end();
      stream.write(r.pieces[i++]);
      setTimeout(next, body.stream ? 2 : 0);
    };
    next();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
