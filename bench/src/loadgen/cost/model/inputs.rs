//! What pricing reads besides the usage: each function's billed configuration
//! (`functions.json`) and the tables kept with point-in-time recovery (`infra/resources.json`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// A function's billed configuration (`scripts/function_memory.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    pub memory_mb: f64,
    pub architecture: String,
}

/// `target/bench/functions.json` (or `COST_FUNCTIONS_JSON`), as `scripts/function_memory.py` wrote it.
pub fn load_functions(path: &str) -> Result<BTreeMap<String, FunctionConfig>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("{path}: {e} (make bench writes it with scripts/function_memory.py)")
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let mut out = BTreeMap::new();
    for (name, f) in v.as_object().ok_or(format!("{path}: not an object"))? {
        let memory_mb = f["memoryMb"]
            .as_f64()
            .ok_or(format!("{path}: {name} has no memoryMb"))?;
        let architecture = f["architecture"]
            .as_str()
            .ok_or(format!("{path}: {name} has no architecture"))?
            .to_string();
        out.insert(
            name.clone(),
            FunctionConfig {
                memory_mb,
                architecture,
            },
        );
    }
    Ok(out)
}

/// The tables with point-in-time recovery: `"retain": true` in infra/resources.json.
pub fn retained_tables(resources_json: &str) -> Result<BTreeSet<String>, String> {
    let text =
        std::fs::read_to_string(resources_json).map_err(|e| format!("{resources_json}: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{resources_json}: {e}"))?;
    Ok(v["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["retain"] == true)
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect())
}
