//! `rules/aisensor_rules.yaml` against the plugin it is written for: every `ai.*` field it uses
//! exists, every name in a condition is a defined list or macro, and every rule is an aisensor
//! rule whose output carries plugin fields (falcosidekick rejects alerts without any).
//!
//! The rules file is read with a small parser for the subset of YAML that Falco rules files use
//! (top-level `- key: value` items, `>` folded blocks); it fails loudly on anything else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use aifields::AiFields;
use aisensor_event::payload::kind;
use falco_plugin::extract::ExtractPlugin;

/// One top-level item of the rules file: its keys and their (unfolded) values.
type Item = BTreeMap<String, String>;

fn rules_file() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules/aisensor_rules.yaml");
    std::fs::read_to_string(path).expect("rules/aisensor_rules.yaml")
}

/// Splits the file into top-level items (`- key: ...` at column 0); a key's value runs on over
/// the following lines that are indented deeper than the keys, or that are sequence entries.
fn items(text: &str) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut key = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (indent, body) = if let Some(rest) = line.strip_prefix("- ") {
            items.push(Item::new());
            (2, rest)
        } else {
            (line.len() - trimmed.len(), trimmed)
        };
        let item = items.last_mut().expect("the file starts with a `- ` item");
        match body.split_once(':') {
            Some((k, v)) if indent == 2 && is_key(k) => {
                key = k.to_string();
                item.insert(key.clone(), v.trim().to_string());
            }
            _ => {
                assert!(
                    indent > 2 || body.starts_with("- "),
                    "unexpected line: {line:?}"
                );
                let value = item.get_mut(&key).expect("a continuation follows a key");
                value.push(' ');
                value.push_str(trimmed);
            }
        }
    }
    items
}

fn is_key(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// `ai.*` field references: `ai.` not preceded by an identifier character, up to the first
/// character that cannot be in a field name (an argument `[...]` is not part of the name).
fn ai_tokens(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(pos) = text[i..].find("ai.") {
        let start = i + pos;
        let mut end = start;
        while end < bytes.len() && ident(bytes[end]) {
            end += 1;
        }
        if start == 0 || !ident(bytes[start - 1]) {
            out.push(text[start..end].trim_end_matches('.').to_string());
        }
        i = end.max(start + 1);
    }
    out
}

/// The bare words of a condition, quoted strings removed.
fn condition_words(condition: &str) -> Vec<String> {
    let mut unquoted = String::new();
    let mut quoted = false;
    for c in condition.chars() {
        if c == '"' {
            quoted = !quoted;
            unquoted.push(' ');
        } else if !quoted {
            unquoted.push(c);
        }
    }
    unquoted
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

const OPERATORS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "intersects",
    "exists",
    "glob",
    "startswith",
    "endswith",
    "contains",
    "icontains",
    "pmatch",
    "regex",
];

fn field_names() -> BTreeSet<&'static str> {
    AiFields::EXTRACT_FIELDS.iter().map(|f| f.name).collect()
}

#[test]
fn every_ai_field_in_the_rules_exists() {
    let fields = field_names();
    let kinds = [kind::AI_REQUEST, kind::AI_RESPONSE];
    let mut used = BTreeSet::new();
    for item in items(&rules_file()) {
        for (key, value) in &item {
            for token in ai_tokens(value) {
                // `ai.request` / `ai.response` are values of `ai.kind`, quoted in conditions.
                if kinds.contains(&token.as_str()) {
                    assert!(
                        value.contains(&format!("\"{token}\"")),
                        "{key}: the kind {token} should be quoted"
                    );
                    continue;
                }
                assert!(
                    fields.contains(token.as_str()),
                    "{key}: {token} is not an aifields field"
                );
                used.insert(token);
            }
        }
    }
    assert!(used.len() > 10, "the parser found too few fields: {used:?}");
}

#[test]
fn every_name_in_a_condition_is_a_field_an_operator_a_list_or_a_macro() {
    let items = items(&rules_file());
    let defined: BTreeSet<&str> = items
        .iter()
        .filter_map(|i| i.get("list").or(i.get("macro")).map(String::as_str))
        .collect();
    let fields = field_names();
    for item in &items {
        let (Some(condition), Some(name)) = (
            item.get("condition"),
            item.get("rule").or(item.get("macro")),
        ) else {
            continue;
        };
        for word in condition_words(condition) {
            let ok = word.contains('.') && fields.contains(word.as_str())
                || OPERATORS.contains(&word.as_str())
                || defined.contains(word.as_str())
                || word.chars().all(|c| c.is_ascii_digit());
            assert!(
                ok,
                "{name}: `{word}` is not a field, operator, list or macro"
            );
        }
    }
}

#[test]
fn every_rule_is_an_aisensor_rule_with_plugin_fields_in_its_output() {
    let items = items(&rules_file());
    let rules: Vec<&Item> = items.iter().filter(|i| i.contains_key("rule")).collect();
    assert!(rules.len() >= 4, "found {} rules", rules.len());
    for rule in rules {
        let name = &rule["rule"];
        for key in ["desc", "condition", "output", "priority", "source", "tags"] {
            assert!(rule.contains_key(key), "{name}: no {key}");
        }
        assert_eq!(rule["source"], "aisensor", "{name}");
        let output = &rule["output"];
        for field in [
            "ai.proc.name",
            "ai.proc.pid",
            "ai.provider",
            "ai.model",
            "ai.server",
        ] {
            assert!(
                output.contains(&format!("%{field}")),
                "{name}: output lacks {field}"
            );
        }
        assert!(rule["tags"].contains("aisensor"), "{name}: tags");
        assert!(
            [
                "EMERGENCY",
                "ALERT",
                "CRITICAL",
                "ERROR",
                "WARNING",
                "NOTICE",
                "INFORMATIONAL",
                "DEBUG"
            ]
            .contains(&rule["priority"].as_str()),
            "{name}: priority {}",
            rule["priority"]
        );
    }
}

#[test]
fn the_file_requires_both_plugins() {
    let text = rules_file();
    let items = items(&text);
    assert!(items[0].contains_key("required_engine_version"));
    assert!(items[1].contains_key("required_plugin_versions"));
    for plugin in ["aisensor", "aifields"] {
        assert!(
            text.contains(&format!("  - name: {plugin}\n    version: ")),
            "required_plugin_versions lacks {plugin}"
        );
    }
    // The version required of aifields is one this crate satisfies.
    let required = text
        .split("  - name: aifields\n    version: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("aifields version");
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    assert!(parse(required) <= parse(env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_token_scanner_sees_fields_and_not_look_alikes() {
    assert_eq!(
        ai_tokens("x=%ai.tool.arguments[1] azure.ai.openai ai.kind = \"ai.request\" ai."),
        ["ai.tool.arguments", "ai.kind", "ai.request", "ai"]
    );
}
