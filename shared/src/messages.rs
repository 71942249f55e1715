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
