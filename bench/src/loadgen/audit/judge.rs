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

use super::image::Image;
use super::stream::StreamRec;

/// Invariant 5's limits (ms): the stale threshold plus one sweep (its interval and a slack for
/// the sweep's own run and the write).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaleBounds {
    pub phase_ms: i64,
    pub queued_ms: i64,
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
fn check_still(image: &Image, t: i64, at: &str, bounds: StaleBounds, v: &mut StreamVerdict) {
    for (name, p) in &image.phases {
        if p.status == "running"
            && let Some(since) = p.progress_at
        {
            let gap = t - since;
            v.longest_still_ms = v.longest_still_ms.max(gap);
            let what = format!("{name} running without moving");
            if gap > bounds.phase_ms && !v.stale.iter().any(|s| s.starts_with(&what)) {
                v.stale
                    .push(format!("{what} for {:.1} s ({at})", gap as f64 / 1000.0));
            }
        }
        if p.auto_start == "queued"
            && let Some(since) = p.queued_since()
        {
            let gap = t - since;
            v.longest_queued_ms = v.longest_queued_ms.max(gap);
            let what = format!("{name} auto-start queued");
            if gap > bounds.queued_ms && !v.stale.iter().any(|s| s.starts_with(&what)) {
                v.stale
                    .push(format!("{what} for {:.1} s ({at})", gap as f64 / 1000.0));
            }
        }
    }
}

/// Judges one campaign's records (in sequence order); `now_ms` is the audit's time (a phase
/// still running or queued at the end is measured up to it).
pub fn judge_stream(recs: &[StreamRec], bounds: StaleBounds, now_ms: i64) -> StreamVerdict {
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
                check_still(old, new.updated_at, &at, bounds, &mut v);
            }
        }
        previous = r.new.as_ref().map(|n| n.version);
    }
    if let Some(last) = recs.last().and_then(|r| r.new.as_ref()) {
        check_still(last, now_ms, "still at the audit", bounds, &mut v);
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
mod tests {
    use super::super::fixtures::{discovery, history, image, normal_history, with};
    use super::*;

    const BOUNDS: StaleBounds = StaleBounds {
        phase_ms: 12_000,
        queued_ms: 30_000,
    };

    fn judge(recs: &[StreamRec]) -> StreamVerdict {
        let end = recs
            .last()
            .and_then(|r| r.new.as_ref())
            .map_or(0, |i| i.updated_at);
        judge_stream(recs, BOUNDS, end)
    }

    #[test]
    fn a_normal_history_has_one_start_and_clean_versions() {
        let v = judge(&normal_history());
        let d = v.phase("discovery");
        assert_eq!((d.starts, d.resumes, d.restarts, v.records), (1, 0, 0, 3));
        assert!(v.has_insert);
        assert!(v.version_problems.is_empty(), "{:?}", v.version_problems);
        assert!(v.double_starts.is_empty() && v.stale.is_empty() && v.paused_problems.is_empty());
    }

    #[test]
    fn a_second_start_and_version_jumps_are_found() {
        // running → not_started → running again: two starts; and a write that skipped a version.
        let v = judge(&history(vec![
            image(1, "not_started", "queued"),
            image(2, "running", "started"),
            image(3, "not_started", "started"),
            image(5, "running", "started"),
        ]));
        assert_eq!(v.phase("discovery").starts, 2);
        assert_eq!(v.double_starts.len(), 2, "{:?}", v.double_starts);
        assert_eq!(v.version_problems.len(), 1, "{:?}", v.version_problems);
        // A lost write between two records (old image not where the previous one left off).
        let mut h = normal_history();
        h[2].old = Some(image(7, "running", "started"));
        h[2].new = Some(image(8, "completed", "started"));
        assert_eq!(judge(&h).version_problems.len(), 1);
    }

    #[test]
    fn restarts_and_resumes_are_not_starts() {
        // Started again by hand after a stop and after a failure: trigger manual.
        let manual = |version: u64, status: &str| {
            let t = version as i64 * 100;
            let mut p = discovery(status, "started", t);
            p.trigger = "manual".into();
            with(version, t, p)
        };
        let v = judge(&history(vec![
            image(1, "not_started", "queued"),
            image(2, "running", "started"),
            image(3, "paused", "started"),
            image(4, "running", "started"),
            image(5, "stopped", "started"),
            manual(6, "running"),
            manual(7, "failed"),
            manual(8, "running"),
            manual(9, "paused"),
            manual(10, "completed"),
        ]));
        let d = v.phase("discovery");
        assert_eq!(
            (d.starts, d.resumes, d.restarts, d.pauses, d.stops),
            (1, 2, 2, 2, 1)
        );
        assert!(v.double_starts.is_empty(), "{:?}", v.double_starts);
        assert!(v.paused_problems.is_empty(), "{:?}", v.paused_problems);
    }

    #[test]
    fn a_paused_phase_that_moves_by_itself_is_found() {
        let mut two_chunks = vec![
            image(1, "not_started", "queued"),
            image(2, "running", "started"),
            image(3, "paused", "started"),
        ];
        for (version, done) in [(4, 1000), (5, 2000)] {
            let mut p = discovery("paused", "started", version as i64 * 100);
            p.done = done;
            two_chunks.push(with(version, version as i64 * 100, p));
        }
        let v = judge(&history(two_chunks));
        assert_eq!(v.paused_problems.len(), 1, "{:?}", v.paused_problems);
        let v = judge(&history(vec![
            image(1, "not_started", "queued"),
            image(2, "running", "started"),
            image(3, "paused", "started"),
            image(4, "failed", "started"),
        ]));
        assert_eq!(v.paused_problems.len(), 1, "{:?}", v.paused_problems);
    }

    #[test]
    fn a_phase_still_past_the_bounds_is_stale() {
        // Started at 200 ms, next write 20 s later: past 12 s.
        let started = with(2, 200, discovery("running", "started", 200));
        let mut moved = discovery("running", "started", 20_200);
        moved.done = 1000;
        let h = history(vec![
            image(1, "not_started", "queued"),
            started,
            with(3, 20_200, moved),
        ]);
        let v = judge(&h);
        assert_eq!(v.longest_still_ms, 20_000);
        assert_eq!(v.stale.len(), 1, "{:?}", v.stale);
        // Still running at the audit, 13 s after it last moved.
        let h = history(vec![
            image(1, "not_started", "queued"),
            image(2, "running", "started"),
        ]);
        assert!(judge_stream(&h, BOUNDS, 200 + 11_000).stale.is_empty());
        assert_eq!(judge_stream(&h, BOUNDS, 200 + 13_000).stale.len(), 1);
        // Queued for 31 s after the request (requestedAt 0).
        let h = history(vec![
            with(1, 0, discovery("not_started", "queued", 0)),
            with(2, 31_000, discovery("running", "started", 31_000)),
        ]);
        let v = judge(&h);
        assert_eq!((v.longest_queued_ms, v.stale.len()), (31_000, 1));
    }

    #[test]
    fn redrives_and_stalls_are_counted() {
        let mut redriven = discovery("running", "started", 11_000);
        redriven.recovery = Some((1, "stalled_phase".into(), 11_000));
        let mut stalled = discovery("failed", "started", 11_000);
        stalled.error = Some("STALLED".into());
        let v = judge(&history(vec![
            image(1, "not_started", "queued"),
            with(2, 200, discovery("running", "started", 200)),
            with(3, 11_000, redriven),
            with(4, 22_000, stalled),
        ]));
        assert_eq!(v.recoveries.get("stalled_phase"), Some(&1));
        assert_eq!(v.stalled.len(), 1);
    }
}
