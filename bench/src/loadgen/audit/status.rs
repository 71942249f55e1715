//! Pure readings of a final status body (`GET /campaigns/{id}/status`): whether it settled,
//! invariant 1, whether discovery started, completed, started automatically, and short texts for
//! the report. Each phase's own `autoStart` (`phases[].autoStart`) is read where it matters; the
//! top-level `autoStart` is the latest request of any phase.

use integration_tests::phase;
use serde_json::Value;

use super::settle::FinalState;

pub fn discovery_status(s: &Value) -> &str {
    phase(s, "discovery")["status"].as_str().unwrap_or("?")
}

/// The latest auto-start request's status (top level).
pub fn auto_start_status(s: &Value) -> &str {
    s["autoStart"]["status"].as_str().unwrap_or("?")
}

/// Discovery's own auto-start (`phases[].autoStart`; the top level when the body predates it).
fn discovery_auto_start(s: &Value) -> &Value {
    let own = &phase(s, "discovery")["autoStart"];
    if own.is_object() {
        own
    } else {
        &s["autoStart"]
    }
}

fn phases(s: &Value) -> impl Iterator<Item = &Value> {
    s["phases"].as_array().into_iter().flatten()
}

/// Whether any auto-start (of any phase) is still queued.
fn any_queued(s: &Value) -> bool {
    auto_start_status(s) == "queued" || phases(s).any(|p| p["autoStart"]["status"] == "queued")
}

/// Whether nothing more will change by itself: no phase running and no auto-start queued, with
/// discovery completed, held by the user (paused or stopped: flagged later as not completed),
/// or never started because its auto-start ended without a start.
pub fn settled(s: &Value) -> bool {
    if any_queued(s) || phases(s).any(|p| p["status"] == "running") {
        return false;
    }
    match discovery_status(s) {
        "completed" | "paused" | "stopped" => true,
        "not_started" => matches!(
            discovery_auto_start(s)["status"].as_str(),
            Some("failed" | "cancelled" | "skipped")
        ),
        _ => false,
    }
}

/// Invariant 1 of one final status: no auto-start `queued`; discovery running or further, or its
/// auto-start failed (with a reason), cancelled or skipped.
pub fn invariant1(s: &Value) -> Result<(), String> {
    if let Some(p) = phases(s).find(|p| p["autoStart"]["status"] == "queued") {
        return Err(format!(
            "{}'s autoStart still queued since {} (version {})",
            p["phase"].as_str().unwrap_or("?"),
            p["autoStart"]["requestedAt"].as_str().unwrap_or("?"),
            s["version"]
        ));
    }
    if auto_start_status(s) == "queued" {
        return Err(format!(
            "autoStart still queued for {} (version {})",
            s["autoStart"]["phase"].as_str().unwrap_or("?"),
            s["version"]
        ));
    }
    let d = discovery_status(s);
    if matches!(d, "running" | "paused" | "stopped" | "completed" | "failed") {
        return Ok(());
    }
    let a = discovery_auto_start(s);
    match a["status"].as_str().unwrap_or("?") {
        "failed" if a["error"]["code"].is_string() => Ok(()),
        "failed" => Err("discovery's autoStart failed without a reason".into()),
        "cancelled" | "skipped" => Ok(()),
        other => Err(format!("discovery {d} with autoStart {other}")),
    }
}

/// Whether discovery was started by its auto-start (`trigger: auto`, its request `started`).
pub fn auto_started(s: &Value) -> bool {
    let d = phase(s, "discovery");
    d["trigger"] == "auto" && discovery_auto_start(s)["status"] == "started"
}

/// A phase (or its auto-start) failed `STALLED`: the sweeper gave up on it.
pub fn stalled(s: &Value) -> Option<String> {
    phases(s)
        .find(|p| p["error"]["code"] == "STALLED" || p["autoStart"]["error"]["code"] == "STALLED")
        .map(|p| {
            format!(
                "{} {} (autoStart {}) STALLED",
                p["phase"].as_str().unwrap_or("?"),
                p["status"].as_str().unwrap_or("?"),
                p["autoStart"]["status"].as_str().unwrap_or("?")
            )
        })
}

/// A short text of a final status for the per-state counts.
pub fn state_key(f: &FinalState) -> String {
    match (&f.status, f.not_found) {
        (_, true) => "not found (404)".into(),
        (None, _) => "status unknown".into(),
        (Some(s), _) => {
            let err = s["autoStart"]["error"]["code"]
                .as_str()
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            format!(
                "discovery {} · autoStart {} ({}{err})",
                discovery_status(s),
                auto_start_status(s),
                s["autoStart"]["phase"].as_str().unwrap_or("-")
            )
        }
    }
}

/// A short text of an optional status.
pub fn brief(s: Option<&Value>) -> String {
    match s {
        Some(s) => format!(
            "discovery {} · autoStart {}",
            discovery_status(s),
            auto_start_status(s)
        ),
        None => "no status".into(),
    }
}

/// Whether a final status shows discovery started (running or any state after it).
pub fn started(s: &Value) -> bool {
    matches!(
        discovery_status(s),
        "running" | "paused" | "stopped" | "completed" | "failed"
    )
}

/// Whether a final status shows discovery completed.
pub fn completed(s: &Value) -> bool {
    discovery_status(s) == "completed"
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn s(d: &str, a: &str, code: Option<&str>) -> Value {
        let auto = json!({"status": a, "error": code.map(|c| json!({"code": c}))});
        json!({"phases": [{"phase": "discovery", "status": d, "trigger": "auto", "autoStart": auto}],
               "autoStart": auto})
    }

    #[test]
    fn invariant_one() {
        assert!(invariant1(&s("completed", "failed", Some("INVALID_CONFIG"))).is_ok());
        assert!(invariant1(&s("running", "started", None)).is_ok());
        assert!(invariant1(&s("not_started", "failed", Some("ENQUEUE_FAILED"))).is_ok());
        assert!(invariant1(&s("not_started", "failed", None)).is_err());
        assert!(invariant1(&s("not_started", "queued", None)).is_err());
        assert!(invariant1(&s("completed", "queued", None)).is_err());
    }

    #[test]
    fn settled_means_nothing_moves_by_itself() {
        assert!(settled(&s("completed", "failed", Some("INVALID_CONFIG"))));
        assert!(settled(&s("paused", "started", None)));
        assert!(settled(&s("not_started", "cancelled", None)));
        assert!(!settled(&s("running", "started", None)));
        assert!(!settled(&s("completed", "queued", None)));
        // Discovery done, validation's auto-start still queued (only in its own autoStart).
        let mut v = s("completed", "started", None);
        v["phases"]
            .as_array_mut()
            .unwrap()
            .push(json!({"phase": "validation", "status": "not_started", "autoStart": {"status": "queued"}}));
        assert!(!settled(&v));
        assert!(invariant1(&v).is_err());
    }

    #[test]
    fn auto_started_and_stalled() {
        assert!(auto_started(&s("completed", "started", None)));
        let mut manual = s("completed", "skipped", None);
        manual["phases"][0]["trigger"] = json!("manual");
        assert!(!auto_started(&manual));
        let mut v = s("failed", "started", None);
        v["phases"][0]["error"] = json!({"code": "STALLED"});
        assert!(stalled(&v).is_some());
        assert!(stalled(&s("completed", "started", None)).is_none());
    }
}
