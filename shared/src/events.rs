//! Real-time events (EVENTS.md): what one committed campaign change means to a client.
//!
//! [`derive_events`] is pure: it compares the old and new images of a stream record and returns
//! the events of that one write, in the order they logically happened (`campaign_created` before
//! `auto_start_queued`, `mode_changed` before `auto_start_cancelled`, `phase_completed` before the
//! auto-advance's `auto_start_queued`). Every event of a record carries that record's `version`,
//! so one write can yield several events with the same version; clients apply an event when its
//! `(version, type)` is new to them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{
    AutoStart, AutoStartStatus, Campaign, PhaseName, PhaseState, PhaseStatus, Trigger,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    CampaignCreated,
    ModeChanged,
    AutoStartQueued,
    PhaseAutoStarted,
    PhaseStarted,
    PhaseProgress,
    PhaseCompleted,
    PhaseFailed,
    AutoStartFailed,
    AutoStartCancelled,
    CampaignDeleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CampaignCreated => "campaign_created",
            Self::ModeChanged => "mode_changed",
            Self::AutoStartQueued => "auto_start_queued",
            Self::PhaseAutoStarted => "phase_auto_started",
            Self::PhaseStarted => "phase_started",
            Self::PhaseProgress => "phase_progress",
            Self::PhaseCompleted => "phase_completed",
            Self::PhaseFailed => "phase_failed",
            Self::AutoStartFailed => "auto_start_failed",
            Self::AutoStartCancelled => "auto_start_cancelled",
            Self::CampaignDeleted => "campaign_deleted",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `status` of an event: the phase's status, or the auto-start's for `auto_start_*` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EventStatus {
    Phase(PhaseStatus),
    AutoStart(AutoStartStatus),
}

/// One server → client event: `{type, campaignId, phase, status, version, correlationId, at, data}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseEvent {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub campaign_id: Uuid,
    /// `null` for campaign-level events (`campaign_created`, `mode_changed`, `campaign_deleted`).
    pub phase: Option<PhaseName>,
    pub status: Option<EventStatus>,
    pub version: u64,
    pub correlation_id: String,
    #[serde(serialize_with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    pub data: Value,
}

fn rfc3339_millis<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl PhaseEvent {
    /// The JSON text pushed to a client (one event per WebSocket message).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The events of one write: `old` → `new` (`None` = the item did not exist / was removed).
pub fn derive_events(old: Option<&Campaign>, new: Option<&Campaign>) -> Vec<PhaseEvent> {
    derive_events_at(old, new, None)
}

/// [`derive_events`] with the time of a removal (a delete has no new image, so its `at` is the
/// stream record's time, never earlier than the last write).
pub fn derive_events_at(
    old: Option<&Campaign>,
    new: Option<&Campaign>,
    removed_at: Option<DateTime<Utc>>,
) -> Vec<PhaseEvent> {
    match (old, new) {
        (None, None) => Vec::new(),
        (Some(old), None) => vec![PhaseEvent {
            kind: EventType::CampaignDeleted,
            campaign_id: old.id,
            phase: None,
            status: None,
            version: old.version + 1,
            correlation_id: old.correlation_id.clone(),
            at: removed_at.map_or(old.updated_at, |t| t.max(old.updated_at)),
            data: json!({}),
        }],
        (old, Some(new)) => changed(old, new),
    }
}

fn changed(old: Option<&Campaign>, new: &Campaign) -> Vec<PhaseEvent> {
    let mut out = Vec::new();
    let mut push =
        |kind: EventType, phase: Option<PhaseName>, status: Option<EventStatus>, data: Value| {
            out.push(PhaseEvent {
                kind,
                campaign_id: new.id,
                phase,
                status,
                version: new.version,
                correlation_id: new.correlation_id.clone(),
                at: new.updated_at,
                data,
            });
        };

    match old {
        None => push(
            EventType::CampaignCreated,
            None,
            None,
            json!({"name": new.name, "mode": new.mode}),
        ),
        Some(old) if old.mode != new.mode => push(
            EventType::ModeChanged,
            None,
            None,
            json!({"from": old.mode, "to": new.mode}),
        ),
        Some(_) => {}
    }

    for now in &new.phases {
        let blank = PhaseState::new(now.phase);
        let before = old
            .and_then(|o| o.phases.iter().find(|p| p.phase == now.phase))
            .unwrap_or(&blank);
        let status = Some(EventStatus::Phase(now.status));
        let phase = Some(now.phase);
        let entered = |s: PhaseStatus| now.status == s && before.status != s;
        if entered(PhaseStatus::Running) {
            match now.trigger {
                Some(Trigger::Auto) => push(
                    EventType::PhaseAutoStarted,
                    phase,
                    status,
                    json!({"latencyMs": new.auto_start.latency_ms, "attempts": new.auto_start.attempts}),
                ),
                _ => push(EventType::PhaseStarted, phase, status, json!({})),
            }
        }
        if now.status != PhaseStatus::Completed && now.progress.done != before.progress.done {
            push(
                EventType::PhaseProgress,
                phase,
                status,
                json!({"done": now.progress.done, "total": now.progress.total}),
            );
        }
        if entered(PhaseStatus::Completed) {
            let duration = match (now.started_at, now.completed_at) {
                (Some(s), Some(c)) => Some((c - s).num_milliseconds().max(0)),
                _ => None,
            };
            push(
                EventType::PhaseCompleted,
                phase,
                status,
                json!({"total": now.progress.total, "durationMs": duration}),
            );
        }
        if entered(PhaseStatus::Failed) {
            let (code, message) = error_parts(now.error.as_ref());
            push(
                EventType::PhaseFailed,
                phase,
                status,
                json!({"code": code, "message": message}),
            );
        }
    }

    let blank = AutoStart::default();
    let before = old.map_or(&blank, |o| &o.auto_start);
    let now = &new.auto_start;
    let status = Some(EventStatus::AutoStart(now.status));
    let entered = |s: AutoStartStatus| now.status == s && before.status != s;
    // A new request (another phase or another time) while the previous one was also queued counts.
    if now.status == AutoStartStatus::Queued
        && (before.status != AutoStartStatus::Queued
            || before.requested_at != now.requested_at
            || before.phase != now.phase)
    {
        push(EventType::AutoStartQueued, now.phase, status, json!({}));
    }
    if entered(AutoStartStatus::Failed) {
        let (code, message) = error_parts(now.error.as_ref());
        push(
            EventType::AutoStartFailed,
            now.phase,
            status,
            json!({"code": code, "message": message, "attempts": now.attempts}),
        );
    }
    if entered(AutoStartStatus::Cancelled) {
        push(EventType::AutoStartCancelled, now.phase, status, json!({}));
    }
    out
}

fn error_parts(error: Option<&crate::domain::ErrorInfo>) -> (String, String) {
    match error {
        Some(e) => (e.code.clone(), e.message.clone()),
        None => ("UNKNOWN".into(), "no reason was recorded".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CampaignConfig, ErrorInfo, Mode};
    use chrono::TimeZone;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_795_600_800_000 + ms).unwrap()
    }

    fn campaign(mode: Mode) -> Campaign {
        Campaign::new(
            "owner-1",
            "Shoes Q4".into(),
            mode,
            CampaignConfig::default(),
            "corr-1".into(),
            t(0),
        )
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
            c.start_phase(PhaseName::Discovery, Trigger::Auto, 2500, 1000, 2, t(40))
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
            c.record_chunk(PhaseName::Discovery, 0, 1000, t(100));
        });
        let events = derive_events(Some(&a), Some(&b));
        assert_eq!(kinds(&events), vec![EventType::PhaseProgress]);
        assert_eq!(events[0].data, json!({"done": 1000, "total": 2500}));
        assert_eq!(events[0].version, 3);

        let (_, b2) = step(&b, |c| {
            c.record_chunk(PhaseName::Discovery, 1, 1000, t(150));
        });
        let (a, b) = step(&b2, |c| {
            c.record_chunk(PhaseName::Discovery, 2, 500, t(240));
        });
        let events = derive_events(Some(&a), Some(&b));
        // completion is not also a progress event; in Full Auto the same write queues the next
        // phase (auto-advance)
        assert_eq!(
            kinds(&events),
            vec![EventType::PhaseCompleted, EventType::AutoStartQueued]
        );
        assert_eq!(events[0].data, json!({"total": 2500, "durationMs": 200}));
        assert_eq!(events[1].phase.map(|p| p.as_str()), Some("validation"));
        assert_eq!(events[0].version, 5);
    }

    #[test]
    fn manual_start_is_phase_started() {
        let c = campaign(Mode::StepByStep);
        let (a, b) = step(&c, |c| {
            c.start_phase(PhaseName::Discovery, Trigger::Manual, 10, 10, 0, t(5))
                .unwrap()
        });
        let events = derive_events(Some(&a), Some(&b));
        assert_eq!(kinds(&events), vec![EventType::PhaseStarted]);
        assert_eq!(events[0].data, json!({}));
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
        let info = ErrorInfo {
            code: "INVALID_CONFIG".into(),
            message: "bad".into(),
            details: vec![],
        };
        let (a, b) = step(&c, |c| {
            c.end_auto_start(AutoStartStatus::Failed, Some(info.clone()), 3, t(9));
        });
        let events = derive_events(Some(&a), Some(&b));
        assert_eq!(kinds(&events), vec![EventType::AutoStartFailed]);
        assert_eq!(
            events[0].data,
            json!({"code": "INVALID_CONFIG", "message": "bad", "attempts": 3})
        );

        let c = campaign(Mode::StepByStep);
        let (_, b) = step(&c, |c| {
            c.start_phase(PhaseName::Discovery, Trigger::Manual, 10, 10, 0, t(5))
                .unwrap()
        });
        let (a, b) = step(&b, |c| {
            c.fail_phase(PhaseName::Discovery, info.clone(), t(6));
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
        let (a, b) = step(&c, |c| {
            c.record_auto_start_attempt(2, t(3));
        });
        assert!(b.version > a.version);
        assert!(derive_events(Some(&a), Some(&b)).is_empty());
        let (a, b) = step(&c, |c| {
            c.end_auto_start(AutoStartStatus::Skipped, None, 0, t(3));
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

    mod prop {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Mode(bool),
            StartManual,
            StartAuto(u32),
            Chunk(u64),
            Fail,
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
                (0u8..3, 0u32..6).prop_map(|(o, a)| Op::EndAutoStart(o, a)),
                (0u32..6).prop_map(Op::Attempt),
                Just(Op::Config),
            ]
        }

        fn apply(c: &mut Campaign, op: &Op, now: DateTime<Utc>) {
            let d = PhaseName::Discovery;
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
                    let _ = c.start_phase(d, Trigger::Manual, 1000, 250, 0, now);
                }
                Op::StartAuto(attempts) => {
                    let _ = c.start_phase(d, Trigger::Auto, 1000, 250, *attempts, now);
                }
                Op::Chunk(items) => {
                    let chunk = c.phase(d).next_chunk;
                    c.record_chunk(d, chunk, *items, now);
                }
                Op::Fail => {
                    let info = ErrorInfo {
                        code: "X".into(),
                        message: "x".into(),
                        details: vec![],
                    };
                    c.fail_phase(d, info, now);
                }
                Op::EndAutoStart(outcome, attempts) => {
                    let outcome = [
                        AutoStartStatus::Skipped,
                        AutoStartStatus::Cancelled,
                        AutoStartStatus::Failed,
                    ][*outcome as usize % 3];
                    c.end_auto_start(outcome, None, *attempts, now);
                }
                Op::Attempt(attempts) => {
                    c.record_auto_start_attempt(*attempts, now);
                }
                Op::Config => {
                    let _ = c.replace_config(CampaignConfig::default(), now);
                }
            }
        }

        proptest! {
            #[test]
            fn versions_never_decrease_and_every_start_is_reported_once(
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
                        let starts: Vec<&PhaseEvent> = events
                            .iter()
                            .filter(|e| e.phase == Some(p.phase)
                                && matches!(e.kind, EventType::PhaseStarted | EventType::PhaseAutoStarted))
                            .collect();
                        let went_running = p.status == PhaseStatus::Running && was.status != PhaseStatus::Running;
                        prop_assert_eq!(starts.len(), usize::from(went_running), "op {:?}: {:?}", op, events);
                        if let Some(s) = starts.first() {
                            let auto = p.trigger == Some(Trigger::Auto);
                            prop_assert_eq!(s.kind == EventType::PhaseAutoStarted, auto);
                        }
                        let completions = events.iter().filter(|e| e.phase == Some(p.phase) && e.kind == EventType::PhaseCompleted).count();
                        let completed = p.status == PhaseStatus::Completed && was.status != PhaseStatus::Completed;
                        prop_assert_eq!(completions, usize::from(completed));
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
    }
}
