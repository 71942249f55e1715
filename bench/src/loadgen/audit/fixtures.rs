//! Test builders of stream images and records.

use std::collections::BTreeMap;

use super::image::{Image, PhaseImage};
use super::stream::StreamRec;

/// A discovery phase with `status`, its auto-start `auto_start`, moved at `t` (ms).
pub fn discovery(status: &str, auto_start: &str, t: i64) -> PhaseImage {
    PhaseImage {
        status: status.into(),
        trigger: if status == "not_started" { "" } else { "auto" }.into(),
        run: u64::from(status != "not_started"),
        done: 0,
        progress_at: (status == "running").then_some(t),
        auto_start: auto_start.into(),
        requested_at: Some(0),
        auto_start_error: None,
        error: None,
        recovery: None,
    }
}

/// An image at `version`, written at `t` ms, with one discovery phase.
pub fn image(version: u64, discovery_status: &str, auto_start: &str) -> Image {
    let t = version as i64 * 100;
    with(version, t, discovery(discovery_status, auto_start, t))
}

/// An image at `version`, written at `t` ms, with this discovery phase.
pub fn with(version: u64, t: i64, phase: PhaseImage) -> Image {
    let running = phase.status == "running";
    let queued = phase.auto_start == "queued";
    let sweep_at = if running {
        phase.progress_at
    } else if queued {
        phase.queued_since()
    } else {
        None
    };
    Image {
        version,
        updated_at: t,
        sweep_at,
        phases: BTreeMap::from([("discovery".to_string(), phase)]),
    }
}

pub fn rec(seq: u64, event: &str, old: Option<Image>, new: Option<Image>) -> StreamRec {
    StreamRec {
        sequence: seq.to_string(),
        event: event.into(),
        old,
        new,
        events: Vec::new(),
    }
}

/// A history of images: each record goes from the previous image to the next.
pub fn history(images: Vec<Image>) -> Vec<StreamRec> {
    let mut out = Vec::new();
    let mut old: Option<Image> = None;
    for (i, new) in images.into_iter().enumerate() {
        let event = if old.is_none() { "INSERT" } else { "MODIFY" };
        out.push(rec(i as u64 + 1, event, old.clone(), Some(new.clone())));
        old = Some(new);
    }
    out
}

/// Created queued, started, completed.
pub fn normal_history() -> Vec<StreamRec> {
    history(vec![
        image(1, "not_started", "queued"),
        image(2, "running", "started"),
        image(3, "completed", "started"),
    ])
}
