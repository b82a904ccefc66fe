// Test client (node `https`: OpenSSL linked into the node binary).
// node_client.js PORT CAFILE HOST PATH BODYFILE COUNT [HEADER...]
// COUNT keep-alive POSTs on one connection, under the provider's host name (SNI + Host).
const https = require('https');
const fs = require('fs');

const [port, cafile, host, path, bodyFile, count, ...extra] = process.argv.slice(2);
const body = fs.readFileSync(bodyFile);
const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length, Host: host };
for (const h of extra) {
  const i = h.indexOf(':');
  headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
}
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });

function one() {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', servername: host, port: Number(port), path, method: 'POST',
        headers, ca: fs.readFileSync(cafile), agent, ALPNProtocols: ['http/1.1'] },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
    req.on('error', reject);
    req.end(body);
  });
}

(async () => {
  for (let i = 0; i < Number(count); i++) await one();
  agent.destroy();
  console.log(`ok ${count}`);
})().catch((e) => { console.error(e); process.exit(1); });
