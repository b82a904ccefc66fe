//! `aisensor`: run the plugins outside Falco and print AI events as they happen.
//!
//!   aisensor watch  [--json] [--record FILE] [--config JSON] [--seconds N]
//!   aisensor replay FILE [--json] [--config JSON]
//!
//! Both host the built `libaisensor.so` and `libaifields.so` (found next to this binary or in
//! `$AISENSOR_PLUGIN_DIR`) in the Falco SDK's plugin host, so what they print is what Falco's
//! rules see.

use aisensor_cli::host::{plugin_dir, Host, Next};
use anyhow::{bail, Context, Result};
use std::time::{Duration, Instant};

const USAGE: &str = "usage:
  aisensor watch  [--json] [--record FILE] [--config JSON] [--seconds N]
                  live capture (root): print AI events as they happen
  aisensor replay FILE [--json] [--config JSON]
                  replay a recording made with --record (no root needed)
--config takes aisensor's init_config as JSON (see falco.yaml.example).";

/// Fields printed on each line.
const LINE_FIELDS: &[&str] = &[
    "ai.kind",
    "ai.provider",
    "ai.model",
    "ai.response.model",
    "ai.tool_names",
    "ai.tokens.input",
    "ai.tokens.output",
    "ai.http.status",
    "ai.server",
    "ai.proc.name",
    "ai.proc.pid",
    "ai.latency",
];

struct Args {
    command: String,
    file: Option<String>,
    json: bool,
    record: Option<String>,
    config: serde_json::Map<String, serde_json::Value>,
    seconds: Option<u64>,
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let command = it.next().unwrap_or_default();
    let mut a = Args {
        command,
        file: None,
        json: false,
        record: None,
        config: serde_json::Map::new(),
        seconds: None,
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => a.json = true,
            "--record" => a.record = Some(it.next().context("--record needs a file")?),
            "--seconds" => a.seconds = Some(it.next().context("--seconds needs N")?.parse()?),
            "--config" => {
                let v: serde_json::Value =
                    serde_json::from_str(&it.next().context("--config needs JSON")?)
                        .context("--config is not JSON")?;
                match v {
                    serde_json::Value::Object(m) => a.config = m,
                    _ => bail!("--config must be a JSON object"),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            f if !f.starts_with('-') && a.file.is_none() => a.file = Some(f.to_string()),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("aisensor: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut a = parse_args()?;
    match a.command.as_str() {
        "watch" => {
            a.config.insert("mode".into(), "live".into());
            if let Some(r) = &a.record {
                a.config.insert("record_file".into(), r.clone().into());
            }
        }
        "replay" => {
            let file = a.file.clone().context("replay needs a FILE")?;
            a.config.insert("mode".into(), "replay".into());
            a.config.insert("replay_file".into(), file.into());
        }
        _ => bail!("{USAGE}"),
    }
    let config = serde_json::Value::Object(a.config.clone()).to_string();
    let mut host = Host::start(&plugin_dir()?, &config)?;
    if a.command == "watch" {
        eprintln!("aisensor: capturing; AI events appear below (Ctrl-C to stop)");
    }
    let start = Instant::now();
    let limit = a.seconds.map(Duration::from_secs);
    loop {
        if limit.is_some_and(|l| start.elapsed() >= l) {
            break;
        }
        match host.next_event()? {
            Next::Event(ev) => {
                let r = host.record(&ev, LINE_FIELDS)?;
                if a.json {
                    println!("{}", String::from_utf8_lossy(&r.payload));
                } else {
                    println!("{}", line(&r));
                }
            }
            Next::Timeout => {}
            Next::Eof => break,
        }
    }
    let metrics = host.metrics();
    let nonzero: Vec<String> = metrics
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    eprintln!("aisensor: {}", nonzero.join(" "));
    Ok(())
}

fn line(r: &aisensor_cli::host::Record) -> String {
    let ts = r.ts / 1_000_000;
    let (secs, ms) = (ts / 1000, ts % 1000);
    let mut s = format!(
        "{}.{ms:03} {:<11} {} {}",
        secs,
        r.get("ai.kind"),
        r.get("ai.provider"),
        r.get("ai.model"),
    );
    let extra = [
        ("resp_model", "ai.response.model"),
        ("tools", "ai.tool_names"),
        ("in", "ai.tokens.input"),
        ("out", "ai.tokens.output"),
        ("status", "ai.http.status"),
        ("server", "ai.server"),
        ("proc", "ai.proc.name"),
        ("pid", "ai.proc.pid"),
        ("latency_ns", "ai.latency"),
    ];
    for (label, field) in extra {
        let v = r.get(field);
        if v != "<NA>" && v != "()" && !v.is_empty() {
            s.push_str(&format!(" {label}={v}"));
        }
    }
    s
}
