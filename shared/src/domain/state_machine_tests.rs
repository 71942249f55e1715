//! Property test: no sequence of API calls, worker outcomes and sweeper re-drives drives a
//! campaign into a state the state machines forbid, and the invariants of BEHAVIOUR.md hold
//! after every step.

use chrono::{Duration, Utc};
use proptest::prelude::*;

use super::*;
use crate::messages::AutoStartMessage;
use crate::service::autostart::{Decision, decide};

#[derive(Debug, Clone)]
enum Op {
    /// `PUT /mode`
    Mode(Mode),
    /// `POST /phases/{p}/start` (pre-start validation passed or failed)
    ManualStart {
        phase: usize,
        valid: bool,
    },
    /// `POST /phases/{p}/pause|resume|stop`
    Pause(usize),
    Resume(usize),
    Stop(usize),
    /// The auto-start worker receives the current request's message (validation passes or not).
    Worker {
        valid: bool,
        receive: u32,
    },
    /// A stale or duplicate message (an old `requestedAt`).
    StaleMessage,
    /// The phase worker records chunk `k` of the running phase's current run (or an old run).
    Chunk {
        k: u64,
        stale_run: bool,
    },
    /// The phase-work DLQ gives up on the running phase.
    PhaseDeadLetter,
    /// The auto-start DLQ gives up on the request.
    AutoStartDeadLetter,
    /// The sweeper re-drives whatever is stale.
    Redrive,
    /// `PUT /config`
    Config,
}

fn op() -> impl Strategy<Value = Op> {
    let phase = 0usize..PIPELINE.len();
    prop_oneof![
        prop_oneof![Just(Mode::StepByStep), Just(Mode::FullSequence)].prop_map(Op::Mode),
        (phase.clone(), any::<bool>()).prop_map(|(phase, valid)| Op::ManualStart { phase, valid }),
        phase.clone().prop_map(Op::Pause),
        phase.clone().prop_map(Op::Resume),
        phase.prop_map(Op::Stop),
        (any::<bool>(), 1u32..6).prop_map(|(valid, receive)| Op::Worker { valid, receive }),
        Just(Op::StaleMessage),
        (0u64..6, any::<bool>()).prop_map(|(k, stale_run)| Op::Chunk { k, stale_run }),
        (0u64..6, Just(false)).prop_map(|(k, stale_run)| Op::Chunk { k, stale_run }),
        Just(Op::PhaseDeadLetter),
        Just(Op::AutoStartDeadLetter),
        Just(Op::Redrive),
        Just(Op::Config),
    ]
}

const PLAN: StartPlan = StartPlan {
    total: 10,
    chunk_size: 3,
};

fn apply(c: &mut Campaign, op: &Op, now: chrono::DateTime<Utc>) {
    let error = || ErrorInfo::new("X", "x");
    match op {
        Op::Mode(m) => {
            c.change_mode(*m, now);
        }
        Op::ManualStart { phase, valid } => {
            let phase = PIPELINE[*phase];
            if c.check_can_start(phase).is_ok() && *valid {
                c.start_phase(phase, Trigger::Manual, PLAN, 0, now).unwrap();
            }
        }
        Op::Pause(p) => {
            let _ = c.pause_phase(PIPELINE[*p], now);
        }
        Op::Resume(p) => {
            let _ = c.resume_phase(PIPELINE[*p], now);
        }
        Op::Stop(p) => {
            let _ = c.stop_phase(PIPELINE[*p], now);
        }
        Op::Worker { valid, receive } => {
            let Some((phase, request)) = c.queued_auto_start() else {
                return;
            };
            let requested_at = request.requested_at.unwrap();
            let msg = AutoStartMessage {
                campaign_id: c.id,
                phase,
                correlation_id: String::new(),
                requested_at,
            };
            match decide(c, &msg) {
                Decision::NothingToDo => {}
                Decision::Cancel => {
                    c.end_auto_start(
                        phase,
                        requested_at,
                        AutoStartStatus::Cancelled,
                        None,
                        *receive,
                        now,
                    );
                }
                Decision::Skip => {
                    c.end_auto_start(
                        phase,
                        requested_at,
                        AutoStartStatus::Skipped,
                        None,
                        *receive,
                        now,
                    );
                }
                Decision::Start if *valid => {
                    c.start_phase(phase, Trigger::Auto, PLAN, *receive, now)
                        .unwrap();
                }
                Decision::Start => {
                    c.end_auto_start(
                        phase,
                        requested_at,
                        AutoStartStatus::Failed,
                        Some(error()),
                        *receive,
                        now,
                    );
                }
            }
        }
        Op::StaleMessage => {
            for phase in PIPELINE {
                let msg = AutoStartMessage {
                    campaign_id: c.id,
                    phase: *phase,
                    correlation_id: String::new(),
                    requested_at: now - Duration::days(1),
                };
                assert_eq!(
                    decide(c, &msg),
                    Decision::NothingToDo,
                    "a stale message never acts"
                );
            }
        }
        Op::Chunk { k, stale_run } => {
            let Some(phase) = c.active_phase() else {
                return;
            };
            let state = c.phase(phase);
            let run = if *stale_run {
                state.run.saturating_sub(1)
            } else {
                state.run
            };
            let (start, end) = crate::service::phase_work::chunk_range(
                *k,
                state.chunk_size.max(1),
                state.progress.total,
            );
            c.record_chunk(phase, run, *k, end - start, &[], now);
        }
        Op::PhaseDeadLetter => {
            if let Some(phase) = c.active_phase() {
                let run = c.phase(phase).run;
                c.fail_phase(phase, run, error(), now);
            }
        }
        Op::AutoStartDeadLetter => {
            if let Some((phase, request)) = c.queued_auto_start() {
                let at = request.requested_at.unwrap();
                c.end_auto_start(phase, at, AutoStartStatus::Failed, Some(error()), 10, now);
            }
        }
        Op::Redrive => {
            let target = c
                .phases
                .iter()
                .find(|p| {
                    p.status == PhaseStatus::Running
                        || p.auto_start.status == AutoStartStatus::Queued
                })
                .map(|p| p.phase);
            if let Some(phase) = target {
                c.record_redrive(phase, RecoveryReason::StalledPhase, now);
            }
        }
        Op::Config => {
            let _ = c.replace_config(&ConfigPatch::default(), now);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn no_sequence_of_calls_breaks_the_state_machines(start_full in any::<bool>(), ops in proptest::collection::vec(op(), 1..60)) {
        let mode = if start_full { Mode::FullSequence } else { Mode::StepByStep };
        let t0 = Utc::now();
        let mut c = Campaign::new(uuid::Uuid::new_v4(), "owner", "n".into(), mode, CampaignConfig::default(), "corr".into(), t0);
        for (i, op) in ops.iter().enumerate() {
            let before = c.clone();
            apply(&mut c, op, t0 + Duration::milliseconds(i as i64 + 1));
            let changed = {
                let mut a = serde_json::to_value(&before).unwrap();
                let mut b = serde_json::to_value(&c).unwrap();
                for v in [&mut a, &mut b] {
                    v["version"] = 0.into();
                    v["updatedAt"] = 0.into();
                }
                a != b
            };
            // invariant 3: version +1 on every write, never otherwise
            prop_assert_eq!(c.version, before.version + u64::from(changed), "{:?}", op);
            for (old, new) in before.phases.iter().zip(&c.phases) {
                prop_assert!(old.status == new.status || old.status.can_become(new.status),
                    "phase {:?} -> {:?} by {:?}", old.status, new.status, op);
                prop_assert!(new.progress.done <= new.progress.total);
                if new.status == PhaseStatus::Completed {
                    prop_assert_eq!(new.progress.done, new.progress.total);
                }
                if new.run > old.run {
                    prop_assert_eq!(new.run, old.run + 1, "one run per start");
                    prop_assert_eq!(new.progress.done, 0, "a new run starts from scratch");
                    // invariant 4: Manual mode never starts anything by itself
                    if new.trigger == Some(Trigger::Auto) {
                        prop_assert_eq!(before.mode, Mode::FullSequence);
                    }
                }
                // invariant 5: a paused phase stays paused until resumed or stopped
                if old.status == PhaseStatus::Paused && new.status != PhaseStatus::Paused {
                    prop_assert!(matches!(op, Op::Resume(_) | Op::Stop(_)), "{:?} moved a paused phase", op);
                }
                // invariant 6: a paused or stopped phase records only its current run, in order
                if new.run == old.run && new.status != PhaseStatus::NotStarted && new.next_chunk != old.next_chunk {
                    prop_assert_eq!(new.next_chunk, old.next_chunk + 1);
                    let fresh_chunk = matches!(op, Op::Chunk { stale_run: false, .. });
                    prop_assert!(fresh_chunk, "{:?} moved the chunk cursor", op);
                }
                let (a, b) = (old.auto_start.status, new.auto_start.status);
                prop_assert!(a == b || a.can_become(b), "autoStart {:?} -> {:?} by {:?}", a, b, op);
            }
            if let Some((_, request)) = c.queued_auto_start()
                && before.queued_auto_start().map(|(_, r)| r.requested_at) != Some(request.requested_at)
            {
                prop_assert_eq!(c.mode, Mode::FullSequence, "only Full Auto queues");
            }
            prop_assert!(c.phases.iter().filter(|p| p.status.is_active()).count() <= 1);
            prop_assert!(c.phases.iter().filter(|p| p.auto_start.status == AutoStartStatus::Queued).count() <= 1);
            // the sweep index lists exactly what can stall
            let can_stall = c.phases.iter().any(|p| p.status == PhaseStatus::Running || p.auto_start.status == AutoStartStatus::Queued);
            prop_assert_eq!(c.sweep_at.is_some(), can_stall);
        }
    }
}
