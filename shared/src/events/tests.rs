//! Tests of the event derivation: one per event family (the property test is in `prop_tests`).

use chrono::TimeZone;

use super::*;
use crate::domain::{
    CampaignConfig, DISCOVERY, ErrorInfo, Mode, RecoveryReason, StartPlan, VALIDATION,
};

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_795_600_800_000 + ms).unwrap()
}

fn campaign(mode: Mode) -> Campaign {
    Campaign::new(
        Uuid::from_u128(7),
        "owner-1",
        "Shoes Q4".into(),
        mode,
        CampaignConfig::default(),
        "corr-1".into(),
        t(0),
    )
}

fn plan(total: u64, chunk_size: u64) -> StartPlan {
    StartPlan { total, chunk_size }
}

fn kinds(events: &[PhaseEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.kind).collect()
}

/// Applies `f` to a copy and returns (before, after).
fn step(c: &Campaign, f: impl FnOnce(&mut Campaign)) -> (Campaign, Campaign) {
    let mut next = c.clone();
    f(&mut next);
    (c.clone(), next)
}

fn requested(c: &Campaign) -> DateTime<Utc> {
    c.queued_auto_start()
        .and_then(|(_, a)| a.requested_at)
        .expect("a queued request")
}

#[test]
fn insert_in_full_sequence_is_created_then_queued() {
    let c = campaign(Mode::FullSequence);
    let events = derive_events(None, Some(&c));
    assert_eq!(
        kinds(&events),
        vec![EventType::CampaignCreated, EventType::AutoStartQueued]
    );
    let created = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(
        created,
        json!({
            "type": "campaign_created", "campaignId": c.id, "phase": null, "status": null,
            "version": 1, "correlationId": "corr-1", "at": "2026-11-25T10:00:00.000Z",
            "data": {"name": "Shoes Q4", "mode": "full_sequence"}
        })
    );
    let queued = serde_json::to_value(&events[1]).unwrap();
    assert_eq!(queued["phase"], "discovery");
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["version"], 1);
    assert_eq!(queued["data"], json!({}));
}

#[test]
fn insert_in_step_by_step_is_only_created() {
    let c = campaign(Mode::StepByStep);
    assert_eq!(
        kinds(&derive_events(None, Some(&c))),
        vec![EventType::CampaignCreated]
    );
}

#[test]
fn auto_start_progress_and_completion() {
    let c = campaign(Mode::FullSequence);
    let (a, b) = step(&c, |c| {
        c.start_phase(DISCOVERY, Trigger::Auto, plan(2500, 1000), 2, t(40))
            .unwrap()
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(kinds(&events), vec![EventType::PhaseAutoStarted]);
    let started = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(started["status"], "running");
    assert_eq!(started["phase"], "discovery");
    assert_eq!(started["version"], 2);
    assert_eq!(started["at"], "2026-11-25T10:00:00.040Z");
    assert_eq!(started["data"], json!({"latencyMs": 40, "attempts": 2}));

    let (a, b) = step(&b, |c| {
        c.record_chunk(DISCOVERY, 1, 0, 1000, &[], t(100));
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(kinds(&events), vec![EventType::PhaseProgress]);
    assert_eq!(events[0].data, json!({"done": 1000, "total": 2500}));
    assert_eq!(events[0].version, 3);

    let (_, b2) = step(&b, |c| {
        c.record_chunk(DISCOVERY, 1, 1, 1000, &[], t(150));
    });
    let (a, b) = step(&b2, |c| {
        c.record_chunk(DISCOVERY, 1, 2, 500, &[], t(240));
    });
    let events = derive_events(Some(&a), Some(&b));
    // completion is not also a progress event; in Full Auto the same write queues the next
    // phase (auto-advance)
    assert_eq!(
        kinds(&events),
        vec![EventType::PhaseCompleted, EventType::AutoStartQueued]
    );
    assert_eq!(events[0].data, json!({"total": 2500, "durationMs": 200}));
    assert_eq!(events[1].phase, Some(VALIDATION));
    assert_eq!(events[0].version, 5);
}

#[test]
fn manual_start_is_phase_started() {
    let c = campaign(Mode::StepByStep);
    let (a, b) = step(&c, |c| {
        c.start_phase(DISCOVERY, Trigger::Manual, plan(10, 10), 0, t(5))
            .unwrap()
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(kinds(&events), vec![EventType::PhaseStarted]);
    assert_eq!(events[0].data, json!({}));
}

#[test]
fn pause_resume_stop_and_start_again() {
    let c = campaign(Mode::StepByStep);
    let (_, running) = step(&c, |c| {
        c.start_phase(DISCOVERY, Trigger::Manual, plan(30, 10), 0, t(1))
            .unwrap()
    });
    let (_, running) = step(&running, |c| {
        c.record_chunk(DISCOVERY, 1, 0, 10, &[], t(2));
    });
    let (a, paused) = step(&running, |c| c.pause_phase(DISCOVERY, t(3)).unwrap());
    let events = derive_events(Some(&a), Some(&paused));
    assert_eq!(kinds(&events), vec![EventType::PhasePaused]);
    assert_eq!(events[0].data, json!({"done": 10, "total": 30}));
    assert_eq!(
        serde_json::to_value(&events[0]).unwrap()["status"],
        "paused"
    );

    // the chunk in flight when it was paused still counts: progress while paused
    let (a, paused) = step(&paused, |c| {
        c.record_chunk(DISCOVERY, 1, 1, 10, &[], t(4));
    });
    assert_eq!(
        kinds(&derive_events(Some(&a), Some(&paused))),
        vec![EventType::PhaseProgress]
    );

    let (a, resumed) = step(&paused, |c| c.resume_phase(DISCOVERY, t(5)).unwrap());
    let events = derive_events(Some(&a), Some(&resumed));
    assert_eq!(kinds(&events), vec![EventType::PhaseResumed]);
    assert_eq!(events[0].data, json!({"done": 20, "total": 30}));

    let (a, stopped) = step(&resumed, |c| c.stop_phase(DISCOVERY, t(6)).unwrap());
    let events = derive_events(Some(&a), Some(&stopped));
    assert_eq!(kinds(&events), vec![EventType::PhaseStopped]);
    assert_eq!(events[0].data, json!({"done": 20, "total": 30}));

    // start again: a new run from scratch is a start, not a progress back to 0
    let (a, again) = step(&stopped, |c| {
        c.start_phase(DISCOVERY, Trigger::Manual, plan(30, 10), 0, t(7))
            .unwrap()
    });
    assert_eq!(
        kinds(&derive_events(Some(&a), Some(&again))),
        vec![EventType::PhaseStarted]
    );
    assert_eq!(again.phase(DISCOVERY).run, 2);
}

#[test]
fn a_resume_with_nothing_left_completes_and_advances() {
    let c = campaign(Mode::FullSequence);
    let (_, b) = step(&c, |c| {
        c.start_phase(DISCOVERY, Trigger::Auto, plan(10, 10), 1, t(1))
            .unwrap()
    });
    let (_, b) = step(&b, |c| c.pause_phase(DISCOVERY, t(2)).unwrap());
    let (_, b) = step(&b, |c| {
        c.record_chunk(DISCOVERY, 1, 0, 10, &[], t(3));
    });
    assert_eq!(b.phase(DISCOVERY).status, PhaseStatus::Paused);
    let (a, b) = step(&b, |c| c.resume_phase(DISCOVERY, t(4)).unwrap());
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(
        kinds(&events),
        vec![EventType::PhaseCompleted, EventType::AutoStartQueued]
    );
}

#[test]
fn recoveries_are_reported_with_their_reason() {
    let c = campaign(Mode::FullSequence);
    let (a, b) = step(&c, |c| {
        c.record_redrive(DISCOVERY, RecoveryReason::StaleQueued, t(9));
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(kinds(&events), vec![EventType::PhaseRecovered]);
    assert_eq!(
        events[0].data,
        json!({"reason": "stale_queued", "redrives": 1})
    );
    assert_eq!(events[0].phase, Some(DISCOVERY));
}

#[test]
fn mode_changes_queue_and_cancel() {
    let c = campaign(Mode::StepByStep);
    let (a, b) = step(&c, |c| {
        c.change_mode(Mode::FullSequence, t(10));
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(
        kinds(&events),
        vec![EventType::ModeChanged, EventType::AutoStartQueued]
    );
    assert_eq!(
        events[0].data,
        json!({"from": "step_by_step", "to": "full_sequence"})
    );
    assert_eq!(events[0].phase, None);

    let (a, b) = step(&b, |c| {
        c.change_mode(Mode::StepByStep, t(20));
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(
        kinds(&events),
        vec![EventType::ModeChanged, EventType::AutoStartCancelled]
    );
    let cancelled = serde_json::to_value(&events[1]).unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["phase"], "discovery");
}

#[test]
fn auto_start_failure_and_phase_failure_carry_their_reason() {
    let c = campaign(Mode::FullSequence);
    let info = ErrorInfo::new("INVALID_CONFIG", "bad");
    let at = requested(&c);
    let (a, b) = step(&c, |c| {
        c.end_auto_start(
            DISCOVERY,
            at,
            AutoStartStatus::Failed,
            Some(info.clone()),
            3,
            t(9),
        );
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(kinds(&events), vec![EventType::AutoStartFailed]);
    assert_eq!(
        events[0].data,
        json!({"code": "INVALID_CONFIG", "message": "bad", "attempts": 3})
    );

    let c = campaign(Mode::StepByStep);
    let (_, b) = step(&c, |c| {
        c.start_phase(DISCOVERY, Trigger::Manual, plan(10, 10), 0, t(5))
            .unwrap()
    });
    let (a, b) = step(&b, |c| {
        c.fail_phase(DISCOVERY, 1, info.clone(), t(6));
    });
    let events = derive_events(Some(&a), Some(&b));
    assert_eq!(kinds(&events), vec![EventType::PhaseFailed]);
    assert_eq!(
        events[0].data,
        json!({"code": "INVALID_CONFIG", "message": "bad"})
    );
    assert_eq!(
        serde_json::to_value(&events[0]).unwrap()["status"],
        "failed"
    );
}

#[test]
fn writes_without_visible_change_yield_nothing() {
    let c = campaign(Mode::FullSequence);
    let at = requested(&c);
    let (a, b) = step(&c, |c| {
        c.record_auto_start_attempt(DISCOVERY, at, 2, t(3));
    });
    assert!(b.version > a.version);
    assert!(derive_events(Some(&a), Some(&b)).is_empty());
    let (a, b) = step(&c, |c| {
        c.end_auto_start(DISCOVERY, at, AutoStartStatus::Skipped, None, 0, t(3));
    });
    assert!(derive_events(Some(&a), Some(&b)).is_empty());
}

#[test]
fn delete_is_the_next_version() {
    let c = campaign(Mode::StepByStep);
    let events = derive_events_at(Some(&c), None, Some(t(500)));
    assert_eq!(kinds(&events), vec![EventType::CampaignDeleted]);
    assert_eq!(events[0].version, 2);
    assert_eq!(events[0].at, t(500));
    assert_eq!(events[0].data, json!({}));
    // a stream clock behind the last write never makes the event older than it
    assert_eq!(
        derive_events_at(Some(&c), None, Some(t(-5_000)))[0].at,
        t(0)
    );
    assert!(derive_events(None, None).is_empty());
}
