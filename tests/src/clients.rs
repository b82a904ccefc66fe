//! Real TLS clients, run as child processes against the mock API under real provider names.

use crate::server::{MockApi, Responses};
use crate::tls::TestCa;
use crate::TempDir;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// An OpenAI chat request with one tool, as agents send it.
pub fn openai_body(model: &str, stream: bool, tools: bool) -> String {
    let mut v = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What's the weather in Paris today?"}
        ],
        "stream": stream,
    });
    if stream {
        v["stream_options"] = serde_json::json!({"include_usage": true});
    }
    if tools {
        v["tools"] = serde_json::json!([{
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
            }
        }]);
    }
    v.to_string()
}

/// An Anthropic messages request with one tool.
pub fn anthropic_body(model: &str, stream: bool, tools: bool) -> String {
    let mut v = serde_json::json!({
        "model": model,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "What's the weather in Paris today?"}],
        "stream": stream,
    });
    if tools {
        v["tools"] = serde_json::json!([{
            "name": "get_weather",
            "description": "Get the current weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }]);
    }
    v.to_string()
}

/// The CA, the mock API and a scratch directory for one test.
pub struct Env {
    pub dir: TempDir,
    pub ca: TestCa,
    pub api: MockApi,
    n: std::cell::Cell<u32>,
}

impl Env {
    pub fn start() -> Result<Env> {
        let dir = TempDir::new("e2e");
        let ca = TestCa::new(dir.path())?;
        let api = MockApi::start(&ca, Responses::load()?)?;
        Ok(Env {
            dir,
            ca,
            api,
            n: Default::default(),
        })
    }

    fn body_file(&self, body: &str) -> Result<PathBuf> {
        self.n.set(self.n.get() + 1);
        let p = self.dir.path().join(format!("body-{}.json", self.n.get()));
        std::fs::write(&p, body)?;
        Ok(p)
    }

    fn clients_dir() -> PathBuf {
        crate::repo_root().join("tests/clients")
    }

    /// `py_client.py PORT CAFILE HOST MODE`, the mode's own arguments to follow.
    fn py_client(&self, host: &str, mode: &str) -> Command {
        self.py_client_in(Command::new("python3"), host, mode)
    }

    /// [`Env::py_client`] run by `c` (`python3`, or a wrapper that execs it).
    fn py_client_in(&self, mut c: Command, host: &str, mode: &str) -> Command {
        c.arg(Self::clients_dir().join("py_client.py"))
            .arg(self.api.port.to_string())
            .arg(&self.ca.ca_pem_path)
            .arg(host)
            .arg(mode);
        c
    }

    /// Python (`ssl`): `count` keep-alive requests on one connection.
    pub fn python(
        &self,
        host: &str,
        path: &str,
        body: &str,
        count: u32,
        headers: &[&str],
    ) -> Result<Child> {
        let mut c = self.py_client(host, "requests");
        c.arg(path)
            .arg(self.body_file(body)?)
            .arg(count.to_string())
            .args(headers);
        spawn(c)
    }

    /// [`Env::python`] in a mount namespace of its own where each `(file, path)` of `binds` is
    /// bind-mounted over `path`: e.g. its own copy of libssl, as in a container.
    pub fn python_in_namespace(
        &self,
        binds: &[(&Path, &str)],
        host: &str,
        path: &str,
        body: &str,
        headers: &[&str],
    ) -> Result<Child> {
        let mut c = self.py_client_in(self.in_namespace(binds, "python3"), host, "requests");
        c.arg(path)
            .arg(self.body_file(body)?)
            .arg("1")
            .args(headers);
        spawn(c)
    }

    /// Python: one HTTP/1.0 POST, whose response the server ends by closing the connection;
    /// the client then closes its side and stays alive `linger_s` seconds.
    pub fn python_http10(
        &self,
        host: &str,
        path: &str,
        body: &str,
        linger_s: u32,
        headers: &[&str],
    ) -> Result<Child> {
        let mut c = self.py_client(host, "http10");
        c.arg(path)
            .arg(self.body_file(body)?)
            .arg(linger_s.to_string())
            .args(headers);
        spawn(c)
    }

    /// The official OpenAI or Anthropic Python SDK, `stream` or `plain`.
    pub fn sdk(&self, provider: &str, mode: &str) -> Result<Child> {
        let mut c = Command::new("python3");
        c.arg(Self::clients_dir().join("sdk_client.py"))
            .arg(self.api.port.to_string())
            .arg(&self.ca.ca_pem_path)
            .arg(provider)
            .arg(mode);
        spawn(c)
    }

    /// The official OpenAI or Anthropic Node.js SDK (`tests/clients/node-sdk`), `stream` or
    /// `plain`, on its default HTTP stack (global fetch, node's bundled undici, OpenSSL linked
    /// into node). Node trusts the test CA only through `NODE_EXTRA_CA_CERTS`, read at start-up.
    pub fn node_sdk(&self, provider: &str, mode: &str) -> Result<Child> {
        let sdk = Self::clients_dir().join("node-sdk/node_modules");
        anyhow::ensure!(
            sdk.is_dir(),
            "{} is missing: run scripts/setup.sh (npm ci in tests/clients/node-sdk)",
            sdk.display()
        );
        let mut c = Command::new("node");
        c.arg(Self::clients_dir().join("node_sdk_client.js"))
            .arg(self.api.port.to_string())
            .arg(&self.ca.ca_pem_path)
            .arg(provider)
            .arg(mode)
            .env("NODE_EXTRA_CA_CERTS", &self.ca.ca_pem_path);
        spawn(c)
    }

    /// Python misbehaving: `garbage`, `cut` or `other` (see py_client.py).
    pub fn python_mode(&self, host: &str, mode: &str) -> Result<Child> {
        spawn(self.py_client(host, mode))
    }

    /// node (`https`, OpenSSL linked into node): `count` keep-alive requests.
    pub fn node(
        &self,
        host: &str,
        path: &str,
        body: &str,
        count: u32,
        headers: &[&str],
    ) -> Result<Child> {
        let mut c = Command::new("node");
        c.arg(Self::clients_dir().join("node_client.js"))
            .arg(self.api.port.to_string())
            .arg(&self.ca.ca_pem_path)
            .arg(host)
            .arg(path)
            .arg(self.body_file(body)?)
            .arg(count.to_string())
            .args(headers);
        spawn(c)
    }

    /// `program`, in a mount namespace of its own whose `/etc/hosts` resolves the providers'
    /// host names to 127.0.0.1: for clients that cannot be told where to connect (`wget` has no
    /// `--resolve`; agents take a base URL, not an address). The program keeps the pid of the
    /// returned command (`unshare` and `sh` exec it).
    pub fn resolving(&self, program: &str) -> Result<Command> {
        let hosts = self.dir.path().join("hosts");
        if !hosts.exists() {
            // Every name the test certificate covers (localhost among them).
            std::fs::write(
                &hosts,
                format!("127.0.0.1 {}\n", crate::tls::HOSTS.join(" ")),
            )?;
        }
        Ok(self.in_namespace(&[(&hosts, "/etc/hosts")], program))
    }

    /// `program` in a private mount namespace where each `(file, path)` of `binds` is
    /// bind-mounted over `path`. The program keeps the pid of the returned command.
    pub fn in_namespace(&self, binds: &[(&Path, &str)], program: &str) -> Command {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(r#"while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 99; shift 2; done; shift; exec "$@""#)
            .arg("sh");
        for (file, path) in binds {
            c.arg(file).arg(path);
        }
        c.arg("--").arg(program);
        c
    }

    /// wget (Debian's links GnuTLS): one POST.
    pub fn wget(&self, host: &str, path: &str, body: &str, headers: &[&str]) -> Result<Child> {
        let port = self.api.port;
        let mut c = self.resolving("wget")?;
        c.args(["-q", "-O", "/dev/null", "--tries=1", "--timeout=20"])
            .arg(format!(
                "--ca-certificate={}",
                self.ca.ca_pem_path.display()
            ))
            .arg(format!("--post-file={}", self.body_file(body)?.display()))
            .arg("--header=Content-Type: application/json");
        for h in headers {
            c.arg(format!("--header={h}"));
        }
        c.arg(format!("https://{host}:{port}{path}"));
        spawn(c)
    }

    /// curl (libcurl + libssl): one request, the host name resolved to 127.0.0.1.
    pub fn curl(&self, host: &str, path: &str, body: &str, headers: &[&str]) -> Result<Child> {
        let port = self.api.port;
        let mut c = Command::new("curl");
        c.args(["-sS", "--fail", "--http1.1", "-o", "/dev/null"])
            .arg("--cacert")
            .arg(&self.ca.ca_pem_path)
            .arg("--resolve")
            .arg(format!("{host}:{port}:127.0.0.1"))
            .arg(format!("https://{host}:{port}{path}"))
            .args(["-H", "Content-Type: application/json"])
            .arg("--data-binary")
            .arg(format!("@{}", self.body_file(body)?.display()));
        for h in headers {
            c.args(["-H", h]);
        }
        spawn(c)
    }
}

fn spawn(mut c: Command) -> Result<Child> {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {c:?}"))
}

/// Waits for a client and fails with its output if it did not succeed.
pub fn wait_ok(child: Child) -> Result<()> {
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "client failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
