//! The stream judge's tests (`judge.rs`).

use super::super::fixtures::{discovery, history, image, normal_history, with};
use super::*;

const BOUNDS: StaleBounds = StaleBounds {
    phase_ms: 12_000,
    queued_ms: 30_000,
    sweep_ms: 2_000,
};

static NO_BACKLOG: std::sync::LazyLock<Backlogs> = std::sync::LazyLock::new(Backlogs::default);

fn plain() -> Judge<'static> {
    Judge {
        bounds: BOUNDS,
        backlogs: &NO_BACKLOG,
    }
}

fn judge(recs: &[StreamRec]) -> StreamVerdict {
    let end = recs
        .last()
        .and_then(|r| r.new.as_ref())
        .map_or(0, |i| i.updated_at);
    judge_stream(recs, &plain(), end)
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
    assert!(judge_stream(&h, &plain(), 200 + 11_000).stale.is_empty());
    assert_eq!(judge_stream(&h, &plain(), 200 + 13_000).stale.len(), 1);
    // Queued for 31 s after the request (requestedAt 0).
    let h = history(vec![
        with(1, 0, discovery("not_started", "queued", 0)),
        with(2, 31_000, discovery("running", "started", 31_000)),
    ]);
    let v = judge(&h);
    assert_eq!((v.longest_queued_ms, v.stale.len()), (31_000, 1));
}

#[test]
fn a_stand_still_behind_a_backlog_is_capacity_not_a_finding() {
    let started = with(2, 200, discovery("running", "started", 200));
    let h = history(vec![
        image(1, "not_started", "queued"),
        started,
        with(3, 20_200, discovery("running", "started", 20_200)),
    ]);
    let mut backlogs = Backlogs::default();
    for t in (0..=20_000).step_by(1_000) {
        backlogs.phase_work.push(t, 7);
    }
    let j = Judge {
        bounds: BOUNDS,
        backlogs: &backlogs,
    };
    let v = judge_stream(&h, &j, 20_200);
    assert!(v.stale.is_empty(), "{:?}", v.stale);
    assert_eq!(v.longest_backlog_wait_ms, 20_000);
    // the auto-start queue's backlog does not explain a still phase
    let other = Backlogs {
        auto_start: backlogs.phase_work.clone(),
        ..Default::default()
    };
    let j = Judge {
        bounds: BOUNDS,
        backlogs: &other,
    };
    assert_eq!(judge_stream(&h, &j, 20_200).stale.len(), 1);
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
