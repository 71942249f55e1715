//! The crate's layering, checked on its sources: every top-level module may use only modules of
//! its own layer or below, and the module graph has no cycle. Test code (`#[cfg(test)]` modules
//! and `*tests.rs` files) may use anything.
//!
//! 0 `error`, `settings`, `net`, `sdk`, `sdk_lambda`, `telemetry` — 1 `domain` — 2 `messages`,
//! `phases`, `store`, `lambda`, `events` — 3 `state` — 4 `service` — 5 `api`, `realtime`,
//! `testkit`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn layer(module: &str) -> usize {
    match module {
        "error" | "settings" | "net" | "sdk" | "sdk_lambda" | "telemetry" => 0,
        "domain" => 1,
        "messages" | "phases" | "store" | "lambda" | "events" => 2,
        "state" => 3,
        "service" => 4,
        "api" | "realtime" | "testkit" => 5,
        other => panic!("module {other} has no layer: add it to tests/layers.rs"),
    }
}

/// The non-test code of a file: everything before its first `#[cfg(test)]`, comments removed.
fn production_code(text: &str) -> String {
    let code = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    // `use crate::{a, b::c}` groups
    for (i, _) in text.match_indices("crate::{") {
        let rest = &text[i + "crate::{".len()..];
        let group = &rest[..rest.find('}').unwrap_or(rest.len())];
        for part in group.split(',') {
            let name: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn modules_use_only_their_layer_or_below_and_never_each_other_in_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib"
            || rel
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("tests.rs"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for used in uses(&production_code(&text)) {
            if used == top || matches!(used.as_str(), "AppError" | "AppState" | "Settings") {
                continue;
            }
            if layer(&used) > layer(&top) {
                problems.push(format!(
                    "{} uses {used} (layer {} above {})",
                    rel.display(),
                    layer(&used),
                    layer(&top)
                ));
            }
            graph.entry(top.clone()).or_default().insert(used);
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n  {}",
        problems.join("\n  ")
    );
    // no cycle: repeatedly remove modules that use nothing left
    let mut left = graph.clone();
    loop {
        let leaves: Vec<String> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| m.clone())
            .collect();
        if leaves.is_empty() {
            break;
        }
        for m in leaves {
            left.remove(&m);
        }
    }
    assert!(
        left.is_empty(),
        "import cycle among {:?}",
        left.keys().collect::<Vec<_>>()
    );
}
