//! Real-time events (EVENTS.md): what one committed campaign change means to a client.
//!
//! [`derive_events`] is pure: it compares the old and new images of a stream record and returns
//! the events of that one write, in the order they logically happened (`campaign_created` before
//! `auto_start_queued`, `mode_changed` before `auto_start_cancelled`, `phase_completed` before the
//! auto-advance's `auto_start_queued`). Every event of a record carries that record's `version`,
//! so one write can yield several events with the same version; clients apply an event when its
//! `(version, type, phase)` is new to them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{AutoStartStatus, Campaign, PhaseName, PhaseState, PhaseStatus, Trigger};

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
    PhasePaused,
    PhaseResumed,
    PhaseStopped,
    PhaseRecovered,
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
            Self::PhasePaused => "phase_paused",
            Self::PhaseResumed => "phase_resumed",
            Self::PhaseStopped => "phase_stopped",
            Self::PhaseRecovered => "phase_recovered",
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

    let before_of = |now: &PhaseState| -> PhaseState {
        old.map(|o| o.phase(now.phase).clone())
            .unwrap_or_else(|| PhaseState::new(now.phase))
    };

    for now in &new.phases {
        let before = before_of(now);
        let status = Some(EventStatus::Phase(now.status));
        let phase = Some(now.phase);
        let entered = |s: PhaseStatus| now.status == s && before.status != s;
        let counts = json!({"done": now.progress.done, "total": now.progress.total});
        if entered(PhaseStatus::Running) {
            match (before.status, now.trigger) {
                (PhaseStatus::Paused, _) => {
                    push(EventType::PhaseResumed, phase, status, counts.clone())
                }
                (_, Some(Trigger::Auto)) => push(
                    EventType::PhaseAutoStarted,
                    phase,
                    status,
                    json!({"latencyMs": now.auto_start.latency_ms, "attempts": now.auto_start.attempts}),
                ),
                _ => push(EventType::PhaseStarted, phase, status, json!({})),
            }
        }
        let same_run = now.run == before.run && now.status != PhaseStatus::NotStarted;
        if same_run
            && now.status != PhaseStatus::Completed
            && now.progress.done != before.progress.done
        {
            push(EventType::PhaseProgress, phase, status, counts.clone());
        }
        if entered(PhaseStatus::Paused) {
            push(EventType::PhasePaused, phase, status, counts.clone());
        }
        if entered(PhaseStatus::Stopped) {
            push(EventType::PhaseStopped, phase, status, counts.clone());
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
        if let Some(r) = now.recovery
            && before.recovery.is_none_or(|b| b.redrives < r.redrives)
        {
            push(
                EventType::PhaseRecovered,
                phase,
                status,
                json!({"reason": r.reason.as_str(), "redrives": r.redrives}),
            );
        }
    }

    for now in &new.phases {
        let before = before_of(now).auto_start;
        let request = &now.auto_start;
        let phase = Some(now.phase);
        let status = Some(EventStatus::AutoStart(request.status));
        let entered = |s: AutoStartStatus| request.status == s && before.status != s;
        // A new request while the previous one was also queued counts.
        if request.status == AutoStartStatus::Queued
            && (before.status != AutoStartStatus::Queued
                || before.requested_at != request.requested_at)
        {
            push(EventType::AutoStartQueued, phase, status, json!({}));
        }
        if entered(AutoStartStatus::Failed) {
            let (code, message) = error_parts(request.error.as_ref());
            push(
                EventType::AutoStartFailed,
                phase,
                status,
                json!({"code": code, "message": message, "attempts": request.attempts}),
            );
        }
        if entered(AutoStartStatus::Cancelled) {
            push(EventType::AutoStartCancelled, phase, status, json!({}));
        }
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
mod prop_tests;
#[cfg(test)]
mod tests;
