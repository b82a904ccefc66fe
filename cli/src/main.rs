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

/// `2026-11-23T01:02:03.456Z` from nanoseconds since the epoch (UTC; proleptic Gregorian,
/// days-to-civil conversion after H. Hinnant).
fn utc(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let ms = (ns / 1_000_000) % 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn line(r: &aisensor_cli::host::Record) -> String {
    let mut s = format!(
        "{} {:<11} {} {}",
        utc(r.ts),
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
    ];
    for (label, field) in extra {
        let v = r.get(field);
        if v != "<NA>" && v != "()" && !v.is_empty() {
            s.push_str(&format!(" {label}={v}"));
        }
    }
    if let Ok(ns) = r.get("ai.latency").parse::<u64>() {
        s.push_str(&format!(" latency={:.1}ms", ns as f64 / 1e6));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::utc(951_782_400_123_000_000),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            super::utc(1_795_395_675_000_000_000),
            "2026-11-23T01:01:15.000Z"
        );
    }
}
