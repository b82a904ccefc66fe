//! README.md's *Supported Fields* table is generated from the plugin's field definitions: this
//! test fails when the two differ. To regenerate the section after changing a field:
//!
//! ```sh
//! AISENSOR_UPDATE_README=1 cargo test -p aisensor-plugin-extract --test readme
//! ```

use std::path::PathBuf;

const BEGIN: &str = "<!-- README-PLUGIN-FIELDS -->\n";
const END: &str = "<!-- /README-PLUGIN-FIELDS -->";

#[test]
fn readme_field_table_is_generated_from_the_plugin() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md at the workspace root");
    let start = readme.find(BEGIN).expect("README.md has the begin marker") + BEGIN.len();
    let end = start
        + readme[start..]
            .find(END)
            .expect("README.md has the end marker after the begin marker");

    let generated = aifields::fields_markdown();
    if std::env::var_os("AISENSOR_UPDATE_README").is_some() {
        let updated = format!("{}{generated}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).expect("README.md is writable");
        return;
    }
    assert!(
        readme[start..end] == generated,
        "README.md's field table is out of date: run \
         `AISENSOR_UPDATE_README=1 cargo test -p aisensor-plugin-extract --test readme`"
    );
}

#[test]
fn the_table_lists_every_field_once() {
    use falco_plugin::extract::ExtractPlugin;

    let table = aifields::fields_markdown();
    let rows: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(rows.len(), aifields::AiFields::EXTRACT_FIELDS.len());
    for (row, field) in rows.iter().zip(aifields::AiFields::EXTRACT_FIELDS) {
        assert!(row.starts_with(&format!("| `{}` ", field.name)), "{row}");
    }
    assert!(table.contains("| `ai.tool.arguments` "));
    assert!(table
        .lines()
        .any(|l| l.starts_with("| `ai.tool_names` ") && l.contains("| `string (list)` ")));
    assert!(table
        .lines()
        .any(|l| l.starts_with("| `ai.tool.arguments` ") && l.contains("| Index ")));
}
