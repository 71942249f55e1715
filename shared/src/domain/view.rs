//! The API representations of a campaign (API.md "Campaign resource"), as typed views: the
//! stored item's internal fields (owner, sort key, chunk cursor, run, sweep index) are simply not
//! in them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::campaign::{Campaign, CampaignConfig, Mode};
use super::phase::{
    AutoStart, AutoStartStatus, ErrorInfo, PhaseState, PhaseStatus, Progress, Recovery, Trigger,
};
use super::pipeline::PhaseName;
use crate::error::FieldProblem;

/// A phase's pre-start checks as of now (`readiness` of API.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub phase: PhaseName,
    pub ready: bool,
    pub problems: Vec<FieldProblem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoStartView {
    pub status: AutoStartStatus,
    /// The phase this request is for (null: never requested).
    #[schema(required = true)]
    pub phase: Option<PhaseName>,
    pub attempts: u32,
    #[schema(required = true)]
    pub requested_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub latency_ms: Option<i64>,
    #[schema(required = true)]
    pub error: Option<ErrorInfo>,
}

impl AutoStartView {
    fn of(phase: Option<PhaseName>, a: &AutoStart) -> Self {
        Self {
            status: a.status,
            phase,
            attempts: a.attempts,
            requested_at: a.requested_at,
            started_at: a.started_at,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhaseView {
    pub phase: PhaseName,
    pub status: PhaseStatus,
    #[schema(required = true)]
    pub trigger: Option<Trigger>,
    pub progress: Progress,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub error: Option<ErrorInfo>,
    /// Outcome counts of the recorded chunks (validation: resolved / unresolved / error);
    /// absent while empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, u64>,
    pub auto_start: AutoStartView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub recovery: Option<Recovery>,
}

impl PhaseView {
    fn of(p: &PhaseState) -> Self {
        Self {
            phase: p.phase,
            status: p.status,
            trigger: p.trigger,
            progress: p.progress,
            started_at: p.started_at,
            completed_at: p.completed_at,
            error: p.error.clone(),
            summary: p.summary.clone(),
            auto_start: AutoStartView::of(Some(p.phase), &p.auto_start),
            recovery: p.recovery,
        }
    }
}

/// `GET /campaigns/{id}` and every campaign a write route answers with.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignView<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub mode: Mode,
    pub correlation_id: &'a str,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub config: &'a CampaignConfig,
    pub phases: Vec<PhaseView>,
    pub auto_start: AutoStartView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub readiness: Option<&'a [Readiness]>,
}

/// `GET /campaigns/{id}/status` and the WebSocket `subscribed` answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusView<'a> {
    pub campaign_id: Uuid,
    pub mode: Mode,
    pub version: u64,
    pub auto_start: AutoStartView,
    pub phases: Vec<PhaseView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub readiness: Option<&'a [Readiness]>,
    pub updated_at: DateTime<Utc>,
}

impl Campaign {
    /// The top-level `autoStart`: the latest request, or `not_requested`.
    pub fn auto_start_view(&self) -> AutoStartView {
        match self.latest_auto_start() {
            Some((phase, a)) => AutoStartView::of(Some(phase), a),
            None => AutoStartView::of(None, &AutoStart::default()),
        }
    }

    /// The API representation, with `readiness` when the caller computed it.
    pub fn view<'a>(&'a self, readiness: Option<&'a [Readiness]>) -> CampaignView<'a> {
        CampaignView {
            id: self.id,
            name: &self.name,
            mode: self.mode,
            correlation_id: &self.correlation_id,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            config: &self.config,
            phases: self.phases.iter().map(PhaseView::of).collect(),
            auto_start: self.auto_start_view(),
            readiness,
        }
    }

    pub fn status_view<'a>(&'a self, readiness: Option<&'a [Readiness]>) -> StatusView<'a> {
        StatusView {
            campaign_id: self.id,
            mode: self.mode,
            version: self.version,
            auto_start: self.auto_start_view(),
            phases: self.phases.iter().map(PhaseView::of).collect(),
            readiness,
            updated_at: self.updated_at,
        }
    }
}
