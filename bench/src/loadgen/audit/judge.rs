//! The stream's verdict on one campaign (its records in sequence order), independently of the
//! WebSocket and of the API:
//! - invariant 2: a phase enters `running` from `not_started` at most once (discovery), and at
//!   most once automatically per auto-start request (every phase);
//! - invariant 3: `version` + 1 on every write, each record's old image where the previous left;
//! - invariant 5: a `running` phase never goes longer than [`StaleBounds::phase_ms`] without
//!   moving (a chunk, a resume, a re-drive), an auto-start never stays `queued` longer than
//!   [`StaleBounds::queued_ms`] (measured from the item's own clocks: `progressAt`,
//!   `requestedAt`/the last re-drive, to the next write's `updatedAt`, or to now at the end); a
//!   `paused` phase leaves `paused` only for `running`/`completed` (resume) or `stopped`, and
//!   records at most the one chunk that was in flight when it was paused;
//! - the transitions per phase (starts, pauses, resumes, stops, restarts), the sweeper's
//!   re-drives by reason, and any phase or auto-start failed `STALLED`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::backlog::Backlogs;
use super::image::Image;
use super::stream::StreamRec;

/// Invariant 5's limits (ms): the stale threshold plus one sweep (its interval and a slack for
/// the sweep's own run and the write).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaleBounds {
    pub phase_ms: i64,
    pub queued_ms: i64,
    /// The sweep's share of both (interval plus slack).
    pub sweep_ms: i64,
}

/// One phase's transitions in the stream.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseCounts {
    /// Into `running` from `not_started` (or from before the phase existed).
    pub starts: usize,
    /// `paused` → `running` (or → `completed`: resumed with nothing left).
    pub resumes: usize,
    /// `failed`/`stopped` → `running` (started again).
    pub restarts: usize,
    pub pauses: usize,
    pub stops: usize,
    /// Automatic entries into `running` per auto-start request (`requestedAt`).
    #[serde(skip)]
    auto_starts: BTreeMap<Option<i64>, usize>,
}

/// The stream's verdict on one campaign.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamVerdict {
    pub records: usize,
    pub has_insert: bool,
    pub version_problems: Vec<String>,
    pub phases: BTreeMap<String, PhaseCounts>,
    pub double_starts: Vec<String>,
    /// Invariant 5: still longer than the bounds (at most one finding per phase and kind).
    pub stale: Vec<String>,
    /// The longest a running phase went without moving, and an auto-start stayed queued (ms).
    pub longest_still_ms: i64,
    pub longest_queued_ms: i64,
    /// The longest stand-still past the bounds that its queue's backlog explains (ms).
    pub longest_backlog_wait_ms: i64,
    /// Invariant 5: a paused phase that moved by itself.
    pub paused_problems: Vec<String>,
    /// The sweeper's re-drives recorded on the campaign, by reason.
    pub recoveries: BTreeMap<String, usize>,
    /// Phases or auto-starts that ended `STALLED` (the sweeper gave up on them).
    pub stalled: Vec<String>,
}

impl StreamVerdict {
    /// One phase's transitions (all zero if it never changed).
    pub fn phase(&self, name: &str) -> PhaseCounts {
        self.phases.get(name).cloned().unwrap_or_default()
    }
}

/// Versions: +1 per write, and each old image where the previous record left off.
fn check_versions(r: &StreamRec, previous: Option<u64>, v: &mut StreamVerdict) {
    match (r.event.as_str(), r.old.as_ref(), r.new.as_ref()) {
        ("INSERT", _, Some(n)) => {
            v.has_insert = true;
            if n.version != 1 {
                v.version_problems
                    .push(format!("INSERT {} at version {}", r.sequence, n.version));
            }
        }
        ("MODIFY", Some(o), Some(n)) => {
            if n.version != o.version + 1 {
                v.version_problems.push(format!(
                    "MODIFY {}: version {} → {}",
                    r.sequence, o.version, n.version
                ));
            }
            if let Some(p) = previous
                && o.version != p
            {
                v.version_problems.push(format!(
                    "MODIFY {}: old image at version {} but the previous record left {}",
                    r.sequence, o.version, p
                ));
            }
        }
        ("MODIFY", _, _) => v
            .version_problems
            .push(format!("MODIFY {} without both images", r.sequence)),
        _ => {}
    }
}

/// The transitions of every phase from `old` to `new`.
fn count_transitions(
    old: Option<&Image>,
    new: &Image,
    in_pause: &mut BTreeMap<String, u64>,
    v: &mut StreamVerdict,
) {
    for (name, now) in &new.phases {
        let was = old.and_then(|o| o.phases.get(name));
        let before = was.map_or("absent", |p| p.status.as_str());
        let after = now.status.as_str();
        let c = v.phases.entry(name.clone()).or_default();
        if after == "running" && before != "running" {
            match before {
                "paused" => c.resumes += 1,
                "failed" | "stopped" => c.restarts += 1,
                _ => c.starts += 1,
            }
            if before != "paused" && now.trigger == "auto" {
                *c.auto_starts.entry(now.requested_at).or_default() += 1;
            }
        }
        if before == "paused" && after == "completed" {
            c.resumes += 1;
        }
        if after == "paused" && before != "paused" {
            c.pauses += 1;
            in_pause.insert(name.clone(), 0);
        }
        if after == "stopped" && before != "stopped" {
            c.stops += 1;
        }
        if before == "paused" {
            if !matches!(after, "paused" | "running" | "completed" | "stopped") {
                v.paused_problems.push(format!(
                    "{name} went from paused to {after} by itself (v{})",
                    new.version
                ));
            }
            let chunks = in_pause.entry(name.clone()).or_default();
            if after == "paused" && was.is_some_and(|w| now.done > w.done) {
                *chunks += 1;
                if *chunks == 2 {
                    v.paused_problems.push(format!(
                        "{name} recorded a second chunk while paused (v{})",
                        new.version
                    ));
                }
            }
        }
        let redrives = |p: Option<&super::image::PhaseImage>| p.and_then(|p| p.recovery.clone());
        if let Some((n, reason, _)) = redrives(Some(now))
            && redrives(was).is_none_or(|(m, _, _)| m < n)
        {
            *v.recoveries.entry(reason).or_default() += 1;
        }
        let stalled = |p: Option<&super::image::PhaseImage>| {
            p.is_some_and(|p| {
                p.error.as_deref() == Some("STALLED")
                    || p.auto_start_error.as_deref() == Some("STALLED")
            })
        };
        if stalled(Some(now)) && !stalled(was) {
            v.stalled
                .push(format!("{name}: STALLED at v{} ({after})", new.version));
        }
    }
}

/// How long `image`'s running phases and queued auto-starts had been still at `t` (ms); records
/// the longest, and a finding (once per phase and kind) beyond the bounds.
fn check_still(image: &Image, t: i64, at: &str, j: &Judge, v: &mut StreamVerdict) {
    let b = j.bounds;
    for (name, p) in &image.phases {
        if p.status == "running"
            && let Some(since) = p.progress_at
        {
            let gap = t - since;
            v.longest_still_ms = v.longest_still_ms.max(gap);
            let stale_at = since + b.phase_ms - b.sweep_ms;
            if gap > b.phase_ms {
                if j.backlogs.phase_work.explains(stale_at, t, b.sweep_ms) {
                    v.longest_backlog_wait_ms = v.longest_backlog_wait_ms.max(gap);
                } else {
                    stale_finding(v, format!("{name} running without moving"), gap, at);
                }
            }
        }
        if p.auto_start == "queued"
            && let Some(since) = p.queued_since()
        {
            let gap = t - since;
            v.longest_queued_ms = v.longest_queued_ms.max(gap);
            let stale_at = since + b.queued_ms - b.sweep_ms;
            if gap > b.queued_ms {
                if j.backlogs.auto_start.explains(stale_at, t, b.sweep_ms) {
                    v.longest_backlog_wait_ms = v.longest_backlog_wait_ms.max(gap);
                } else {
                    stale_finding(v, format!("{name} auto-start queued"), gap, at);
                }
            }
        }
    }
}

/// One finding per phase and kind.
fn stale_finding(v: &mut StreamVerdict, what: String, gap: i64, at: &str) {
    if !v.stale.iter().any(|s| s.starts_with(&what)) {
        v.stale
            .push(format!("{what} for {:.1} s ({at})", gap as f64 / 1000.0));
    }
}

/// What a stream is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub bounds: StaleBounds,
    pub backlogs: &'a Backlogs,
}

/// Judges one campaign's records (in sequence order); `now_ms` is the audit's time (a phase
/// still running or queued at the end is measured up to it).
pub fn judge_stream(recs: &[StreamRec], j: &Judge, now_ms: i64) -> StreamVerdict {
    let mut v = StreamVerdict {
        records: recs.len(),
        ..Default::default()
    };
    let mut previous: Option<u64> = None;
    let mut in_pause: BTreeMap<String, u64> = BTreeMap::new();
    for r in recs {
        check_versions(r, previous, &mut v);
        if let Some(new) = &r.new {
            count_transitions(r.old.as_ref(), new, &mut in_pause, &mut v);
            if let Some(old) = &r.old {
                let at = format!("until v{}", new.version);
                check_still(old, new.updated_at, &at, j, &mut v);
            }
        }
        previous = r.new.as_ref().map(|n| n.version);
    }
    if let Some(last) = recs.last().and_then(|r| r.new.as_ref()) {
        check_still(last, now_ms, "still at the audit", j, &mut v);
    }
    for (name, c) in &v.phases {
        if name == "discovery" && c.starts > 1 {
            v.double_starts.push(format!(
                "discovery entered running from not_started {} times",
                c.starts
            ));
        }
        for (requested, n) in c.auto_starts.iter().filter(|(_, n)| **n > 1) {
            v.double_starts.push(format!(
                "{name} started automatically {n} times for the request of {}",
                requested.map_or("?".into(), |t| t.to_string())
            ));
        }
    }
    v
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
