//! The SQS messages of the pipeline. The correlation id travels in the body and as the message
//! attribute [`CORRELATION_ATTRIBUTE`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Campaign, PhaseName};

pub const CORRELATION_ATTRIBUTE: &str = "correlationId";

/// `{campaignId, phase, correlationId, requestedAt}` on the auto-start queue. It acts only on the
/// request it was sent for (`requestedAt` must match), so duplicates and stale ones are no-ops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoStartMessage {
    pub campaign_id: Uuid,
    pub phase: PhaseName,
    pub correlation_id: String,
    pub requested_at: DateTime<Utc>,
}

impl AutoStartMessage {
    /// The message of `campaign`'s auto-start request of `phase` made at `requested_at`.
    pub fn of(campaign: &Campaign, phase: PhaseName, requested_at: DateTime<Utc>) -> Self {
        Self {
            campaign_id: campaign.id,
            phase,
            correlation_id: campaign.correlation_id.clone(),
            requested_at,
        }
    }
}

/// One chunk of run `run` of a phase, on the phase-work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseWorkMessage {
    pub campaign_id: Uuid,
    pub phase: PhaseName,
    pub run: u32,
    pub chunk: u64,
    pub correlation_id: String,
}

/// A message to send to one of the pipeline's queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    Work(PhaseWorkMessage),
    /// An auto-start message, hidden for this many seconds first.
    AutoStart(AutoStartMessage, i32),
}

impl Dispatch {
    pub fn campaign_id(&self) -> Uuid {
        match self {
            Dispatch::Work(m) => m.campaign_id,
            Dispatch::AutoStart(m, _) => m.campaign_id,
        }
    }

    pub fn correlation_id(&self) -> &str {
        match self {
            Dispatch::Work(m) => &m.correlation_id,
            Dispatch::AutoStart(m, _) => &m.correlation_id,
        }
    }

    /// Whether `self` and `other` ask for the same thing (the same chunk of the same run, or the
    /// same auto-start request), whatever their delay: a worker does it once either way.
    pub fn same_work(&self, other: &Dispatch) -> bool {
        match (self, other) {
            (Dispatch::Work(a), Dispatch::Work(b)) => a == b,
            (Dispatch::AutoStart(a, _), Dispatch::AutoStart(b, _)) => a == b,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DISCOVERY;

    #[test]
    fn messages_have_the_contract_shape() {
        let m = AutoStartMessage {
            campaign_id: Uuid::nil(),
            phase: DISCOVERY,
            correlation_id: "c".into(),
            requested_at: DateTime::from_timestamp_millis(0).unwrap(),
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["phase"], "discovery");
        for key in ["campaignId", "requestedAt", "correlationId"] {
            assert!(v.get(key).is_some(), "{key}");
        }
        let back: AutoStartMessage = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }
}
