//! The README's *Supported Fields* table, rendered from the plugin's own field schema (the JSON
//! Falco reads with `get_fields`) in the layout of the falcosecurity/plugins README generator.

use falco_plugin::extract::ExtractPlugin;
use serde_json::Value;

use crate::AiFields;

/// The markdown table of every `ai.*` field: `| NAME | TYPE | ARG | DESCRIPTION |`.
///
/// README.md holds a copy between `<!-- README-PLUGIN-FIELDS -->` markers, which a test keeps
/// equal to this.
pub fn fields_markdown() -> String {
    let schema: Value = serde_json::from_str(
        AiFields::get_fields()
            .to_str()
            .expect("the field schema is UTF-8"),
    )
    .expect("the field schema is JSON");
    let rows: Vec<[String; 4]> = schema
        .as_array()
        .expect("the field schema is a list")
        .iter()
        .map(|f| {
            let list = if f["isList"].as_bool() == Some(true) {
                " (list)"
            } else {
                ""
            };
            [
                format!("`{}`", f["name"].as_str().unwrap_or_default()),
                format!("`{}{list}`", f["type"].as_str().unwrap_or_default()),
                arg(&f["arg"]),
                f["desc"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .collect();
    table(["NAME", "TYPE", "ARG", "DESCRIPTION"], &rows)
}

/// `None`, or the argument's kind (`Index`, `Key`) and whether it is `Required`.
fn arg(arg: &Value) -> String {
    let flag = |name| arg[name].as_bool() == Some(true);
    let mut parts = Vec::new();
    if flag("isIndex") {
        parts.push("Index");
    }
    if flag("isKey") {
        parts.push("Key");
    }
    if parts.is_empty() {
        return "None".to_string();
    }
    if flag("isRequired") {
        parts.push("Required");
    }
    parts.join(", ")
}

/// A padded markdown table: headers centred, cells left-aligned.
fn table(header: [&str; 4], rows: &[[String; 4]]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..4).map(width).collect();
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<String>| {
        out.push('|');
        for cell in cells {
            out.push_str(&cell);
            out.push('|');
        }
        out.push('\n');
    };
    line(
        &mut out,
        (0..4)
            .map(|i| {
                let pad = widths[i] - header[i].len();
                let left = pad / 2;
                format!(
                    " {}{}{} ",
                    " ".repeat(left),
                    header[i],
                    " ".repeat(pad - left)
                )
            })
            .collect(),
    );
    line(&mut out, widths.iter().map(|w| "-".repeat(w + 2)).collect());
    for row in rows {
        line(
            &mut out,
            (0..4)
                .map(|i| {
                    let pad = widths[i] - row[i].chars().count();
                    format!(" {}{} ", row[i], " ".repeat(pad))
                })
                .collect(),
        );
    }
    out
}
