//! Property test of the event derivation over random sequences of every transition.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::domain::{
    AutoStartStatus, Campaign, CampaignConfig, ConfigPatch, DISCOVERY, ErrorInfo, Mode,
    PhaseStatus, RecoveryReason, StartPlan, Trigger,
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

#[derive(Debug, Clone)]
enum Op {
    Mode(bool),
    StartManual,
    StartAuto(u32),
    Chunk(u64),
    Fail,
    Pause,
    Resume,
    Stop,
    Redrive,
    EndAutoStart(u8, u32),
    Attempt(u32),
    Config,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<bool>().prop_map(Op::Mode),
        Just(Op::StartManual),
        (0u32..6).prop_map(Op::StartAuto),
        (1u64..700).prop_map(Op::Chunk),
        (1u64..700).prop_map(Op::Chunk),
        Just(Op::Fail),
        Just(Op::Pause),
        Just(Op::Resume),
        Just(Op::Stop),
        Just(Op::Redrive),
        (0u8..3, 0u32..6).prop_map(|(o, a)| Op::EndAutoStart(o, a)),
        (0u32..6).prop_map(Op::Attempt),
        Just(Op::Config),
    ]
}

fn apply(c: &mut Campaign, op: &Op, now: DateTime<Utc>) {
    let d = DISCOVERY;
    match op {
        Op::Mode(full) => {
            c.change_mode(
                if *full {
                    Mode::FullSequence
                } else {
                    Mode::StepByStep
                },
                now,
            );
        }
        Op::StartManual => {
            let _ = c.start_phase(d, Trigger::Manual, plan(1000, 250), 0, now);
        }
        Op::StartAuto(attempts) => {
            if c.phase(d).auto_start.status == AutoStartStatus::Queued {
                let _ = c.start_phase(d, Trigger::Auto, plan(1000, 250), *attempts, now);
            }
        }
        Op::Chunk(items) => {
            let (run, chunk) = (c.phase(d).run, c.phase(d).next_chunk);
            c.record_chunk(d, run, chunk, *items, &[], now);
        }
        Op::Fail => {
            let run = c.phase(d).run;
            c.fail_phase(d, run, ErrorInfo::new("X", "x"), now);
        }
        Op::Pause => {
            let _ = c.pause_phase(d, now);
        }
        Op::Resume => {
            let _ = c.resume_phase(d, now);
        }
        Op::Stop => {
            let _ = c.stop_phase(d, now);
        }
        Op::Redrive => {
            c.record_redrive(d, RecoveryReason::StalledPhase, now);
        }
        Op::EndAutoStart(outcome, attempts) => {
            let outcome = [
                AutoStartStatus::Skipped,
                AutoStartStatus::Cancelled,
                AutoStartStatus::Failed,
            ][*outcome as usize % 3];
            if let Some((phase, a)) = c.queued_auto_start() {
                let at = a.requested_at.unwrap();
                c.end_auto_start(phase, at, outcome, None, *attempts, now);
            }
        }
        Op::Attempt(attempts) => {
            if let Some((phase, a)) = c.queued_auto_start() {
                let at = a.requested_at.unwrap();
                c.record_auto_start_attempt(phase, at, *attempts, now);
            }
        }
        Op::Config => {
            let _ = c.replace_config(&ConfigPatch::default(), now);
        }
    }
}

proptest! {
    #[test]
    fn versions_never_decrease_and_every_transition_is_reported_once(
        full in any::<bool>(),
        ops in proptest::collection::vec(op(), 0..60),
        delete in any::<bool>(),
    ) {
        let mode = if full { Mode::FullSequence } else { Mode::StepByStep };
        let mut current = campaign(mode);
        let mut all = derive_events(None, Some(&current));
        prop_assert_eq!(all[0].kind, EventType::CampaignCreated);
        for (i, op) in ops.iter().enumerate() {
            let before = current.clone();
            apply(&mut current, op, t(i as i64 * 7));
            let events = derive_events(Some(&before), Some(&current));
            if current.version == before.version {
                prop_assert!(events.is_empty(), "no write, no event: {:?}", events);
                continue;
            }
            prop_assert_eq!(current.version, before.version + 1);
            for e in &events {
                prop_assert_eq!(e.version, current.version);
                prop_assert_eq!(e.campaign_id, current.id);
                prop_assert_eq!(&e.correlation_id, &current.correlation_id);
                prop_assert_eq!(e.at, current.updated_at);
            }
            for p in &current.phases {
                let was = before.phase(p.phase);
                let count = |k: EventType| events.iter().filter(|e| e.phase == Some(p.phase) && e.kind == k).count();
                let entered = |s: PhaseStatus| usize::from(p.status == s && was.status != s);
                let starts = count(EventType::PhaseStarted) + count(EventType::PhaseAutoStarted) + count(EventType::PhaseResumed);
                prop_assert_eq!(starts, entered(PhaseStatus::Running), "op {:?}: {:?}", op, events);
                prop_assert_eq!(count(EventType::PhaseResumed), usize::from(p.status == PhaseStatus::Running && was.status == PhaseStatus::Paused));
                prop_assert_eq!(count(EventType::PhaseCompleted), entered(PhaseStatus::Completed));
                prop_assert_eq!(count(EventType::PhasePaused), entered(PhaseStatus::Paused));
                prop_assert_eq!(count(EventType::PhaseStopped), entered(PhaseStatus::Stopped));
                prop_assert_eq!(count(EventType::PhaseFailed), entered(PhaseStatus::Failed));
                prop_assert!(PhaseStatus::can_become(was.status, p.status) || was.status == p.status, "{:?} → {:?}", was.status, p.status);
            }
            all.extend(events);
        }
        if delete {
            let events = derive_events_at(Some(&current), None, Some(t(10_000)));
            prop_assert_eq!(events.len(), 1);
            prop_assert_eq!(events[0].version, current.version + 1);
            all.extend(events);
        }
        for pair in all.windows(2) {
            prop_assert!(pair[0].version <= pair[1].version, "{:?} then {:?}", pair[0], pair[1]);
        }
    }
}
