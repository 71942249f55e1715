//! `docs/openapi.json` is the document `campaign_shared::api::openapi` generates from the Rust
//! types. When this fails, regenerate it and the wizard's types from it with `make openapi`, i.e.
//!
//! ```sh
//! UPDATE_OPENAPI=1 cargo test -p campaign-shared --test openapi
//! npm --prefix web run gen:api
//! ```

use std::path::Path;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = campaign_shared::api::openapi::to_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(COMMITTED, &generated).expect("writing docs/openapi.json");
        eprintln!("wrote {}", Path::new(COMMITTED).display());
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        let show = |text: &str| {
            text.lines()
                .skip(line.saturating_sub(3))
                .take(7)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "docs/openapi.json is not the document the Rust types generate (first difference at line {}).\n\
             committed:\n{}\n\ngenerated:\n{}\n\n\
             Regenerate it and the wizard's types (`make openapi`):\n  \
             UPDATE_OPENAPI=1 cargo test -p campaign-shared --test openapi\n  \
             npm --prefix web run gen:api",
            line + 1,
            show(&committed),
            show(&generated)
        );
    }
}
