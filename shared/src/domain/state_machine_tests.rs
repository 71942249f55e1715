//! Property test: no sequence of API calls and worker outcomes drives a campaign into a state
//! the state machines forbid, and the invariants of BEHAVIOUR.md hold after every step.

use chrono::{Duration, Utc};
use proptest::prelude::*;

use super::*;
use crate::adapters::queue::AutoStartMessage;
use crate::service::autostart::{Decision, decide};

#[derive(Debug, Clone)]
enum Op {
    /// `PUT /mode`
    Mode(Mode),
    /// `POST /phases/discovery/start` (pre-start validation passed or failed)
    ManualStart { valid: bool },
    /// The auto-start worker receives the current request's message (validation passes or not).
    Worker { valid: bool, receive: u32 },
    /// A stale or duplicate message (an old `requestedAt`).
    StaleMessage,
    /// The phase worker records chunk `k`.
    Chunk(u64),
    /// The phase-work DLQ gives up on the running phase.
    PhaseDeadLetter,
    /// The auto-start DLQ gives up on the request.
    AutoStartDeadLetter,
    /// `PUT /config`
    Config,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop_oneof![Just(Mode::StepByStep), Just(Mode::FullSequence)].prop_map(Op::Mode),
        any::<bool>().prop_map(|valid| Op::ManualStart { valid }),
        (any::<bool>(), 1u32..6).prop_map(|(valid, receive)| Op::Worker { valid, receive }),
        Just(Op::StaleMessage),
        (0u64..6).prop_map(Op::Chunk),
        Just(Op::PhaseDeadLetter),
        Just(Op::AutoStartDeadLetter),
        Just(Op::Config),
    ]
}

const TOTAL: u64 = 10;
const CHUNK: u64 = 3;

fn apply(c: &mut Campaign, op: &Op, now: chrono::DateTime<Utc>) {
    let error = || ErrorInfo {
        code: "X".into(),
        message: "x".into(),
        details: vec![],
    };
    match op {
        Op::Mode(m) => {
            c.change_mode(*m, now);
        }
        Op::ManualStart { valid } => {
            if c.check_can_start(PhaseName::Discovery).is_ok() && *valid {
                c.start_phase(PhaseName::Discovery, Trigger::Manual, TOTAL, CHUNK, 0, now)
                    .unwrap();
            }
        }
        Op::Worker { valid, receive } => {
            let Some(requested_at) = c.auto_start.requested_at else {
                return;
            };
            let msg = AutoStartMessage {
                campaign_id: c.id,
                phase: PhaseName::Discovery,
                correlation_id: String::new(),
                requested_at,
            };
            match decide(c, &msg) {
                Decision::NothingToDo => {}
                Decision::Cancel => {
                    c.end_auto_start(AutoStartStatus::Cancelled, None, *receive, now);
                }
                Decision::Skip => {
                    c.end_auto_start(AutoStartStatus::Skipped, None, *receive, now);
                }
                Decision::Start if *valid => {
                    c.start_phase(
                        PhaseName::Discovery,
                        Trigger::Auto,
                        TOTAL,
                        CHUNK,
                        *receive,
                        now,
                    )
                    .unwrap();
                }
                Decision::Start => {
                    c.end_auto_start(AutoStartStatus::Failed, Some(error()), *receive, now);
                }
            }
        }
        Op::StaleMessage => {
            let msg = AutoStartMessage {
                campaign_id: c.id,
                phase: PhaseName::Discovery,
                correlation_id: String::new(),
                requested_at: now - Duration::days(1),
            };
            assert!(
                matches!(decide(c, &msg), Decision::NothingToDo),
                "a stale message never acts"
            );
        }
        Op::Chunk(k) => {
            let state = c.phase(PhaseName::Discovery);
            let (start, end) = crate::service::phase_work::chunk_range(
                *k,
                state.chunk_size.max(1),
                state.progress.total,
            );
            c.record_chunk(PhaseName::Discovery, *k, end - start, now);
        }
        Op::PhaseDeadLetter => {
            c.fail_phase(PhaseName::Discovery, error(), now);
        }
        Op::AutoStartDeadLetter => {
            c.end_auto_start(AutoStartStatus::Failed, Some(error()), 5, now);
        }
        Op::Config => {
            let config = c.config.clone();
            let _ = c.replace_config(config, now);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn no_sequence_of_calls_breaks_the_state_machines(start_full in any::<bool>(), ops in proptest::collection::vec(op(), 1..40)) {
        let mode = if start_full { Mode::FullSequence } else { Mode::StepByStep };
        let t0 = Utc::now();
        let mut c = Campaign::new("owner", "n".into(), mode, CampaignConfig::default(), "corr".into(), t0);
        let mut starts_from_scratch = 0;
        for (i, op) in ops.iter().enumerate() {
            let before = c.clone();
            apply(&mut c, op, t0 + Duration::milliseconds(i as i64 + 1));
            let changed = {
                let mut a = serde_json::to_value(&before).unwrap();
                let mut b = serde_json::to_value(&c).unwrap();
                a["version"] = 0.into(); b["version"] = 0.into();
                a["updatedAt"] = 0.into(); b["updatedAt"] = 0.into();
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
                if old.status == PhaseStatus::NotStarted && new.status == PhaseStatus::Running {
                    starts_from_scratch += 1;
                    // invariant 4: Manual mode never starts anything by itself
                    if new.trigger == Some(Trigger::Auto) {
                        prop_assert_eq!(before.mode, Mode::FullSequence);
                    }
                }
            }
            let (a, b) = (before.auto_start.status, c.auto_start.status);
            prop_assert!(a == b || a.can_become(b), "autoStart {:?} -> {:?} by {:?}", a, b, op);
            if b == AutoStartStatus::Queued {
                prop_assert_eq!(c.mode, Mode::FullSequence, "only Full Auto queues");
            }
            prop_assert!(c.phases.iter().filter(|p| p.status == PhaseStatus::Running).count() <= 1);
        }
        // invariant 2: discovery starts at most once
        prop_assert!(starts_from_scratch <= 1);
    }
}
