//! The test bodies: each drives the services through a [`Backend`] and checks what was committed.
//! [`ALL`] lists them for the runners (`testkit::tests` here, `service_bodies.rs` on moto).

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Backend;
use super::accounting;
use super::control as recovery;
use crate::domain::{AutoStartStatus, Campaign, DISCOVERY, Mode, PhaseStatus, Readiness};
use crate::messages::PhaseWorkMessage;
use crate::phases::discovery::DiscoveryInput;
use crate::service::config_input::CreateCampaignInput;
use crate::service::control;
use crate::service::create::{self, Created};
use crate::service::phase_work::{ChunkResult, process_chunk};
use crate::service::{Caller, domains};
use crate::store::StoredResponse;

pub type Body = for<'a> fn(&'a dyn Backend) -> BoxFuture<'a, ()>;

/// Every body, by name.
pub const ALL: &[(&str, Body)] = &[
    (
        "full_auto_starts_by_itself_and_completes_exactly",
        full_auto_completes_exactly,
    ),
    (
        "invalid_config_fails_the_auto_start_permanently",
        invalid_config_fails_permanently,
    ),
    ("concurrent_starts_start_once", concurrent_starts_start_once),
    (
        "a_redelivered_chunk_is_recorded_once",
        redelivered_chunk_is_recorded_once,
    ),
    (
        "quota_slots_follow_the_campaigns",
        accounting::quota_slots_follow_the_campaigns,
    ),
    (
        "idempotent_create_replays_refuses_and_survives_a_crash",
        accounting::idempotent_create,
    ),
    (
        "pause_then_resume_keeps_the_output_exact",
        recovery::pause_then_resume,
    ),
    (
        "stop_then_start_again_starts_from_scratch",
        recovery::stop_then_start_again,
    ),
    (
        "the_sweeper_redrives_a_lost_chunk",
        recovery::sweeper_redrives_a_lost_chunk,
    ),
    (
        "three_fruitless_redrives_stall_the_phase",
        recovery::fruitless_redrives_stall,
    ),
    (
        "the_sweeper_redrives_a_stale_queued_auto_start",
        recovery::sweeper_redrives_a_stale_queued_auto_start,
    ),
];

pub fn caller() -> Caller {
    Caller {
        owner: format!("testkit-{}", Uuid::new_v4()),
        correlation_id: Uuid::new_v4().to_string(),
    }
}

pub(super) fn discovery(n: u64) -> Value {
    json!({"patternType": "prefix", "constantString": "shop", "variableLength": 3,
           "characterSet": "abcdefghijklmnopqrstuvwxyz0123456789", "tlds": [".com", ".net"],
           "numDomains": n})
}

pub(super) fn input(mode: Mode, config: Value) -> CreateCampaignInput {
    CreateCampaignInput {
        name: Some("testkit".into()),
        mode: Some(mode),
        config: config.as_object().cloned(),
    }
}

fn no_render(_: &Campaign, _: &[Readiness]) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: String::new(),
        headers: Vec::new(),
    }
}

pub(super) async fn create(b: &dyn Backend, who: &Caller, mode: Mode, config: Value) -> Campaign {
    match create::create(b.state(), who, input(mode, config), None, no_render).await {
        Ok(Created::New(c, _)) => *c,
        other => panic!("{}: create: {other:?}", b.name()),
    }
}

/// Every domain the campaign lists, in order.
pub(super) async fn listed(b: &dyn Backend, who: &Caller, id: Uuid) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = domains::list(b.state(), who, id, 1000, cursor, None, false)
            .await
            .expect("domains");
        all.extend(
            page.into_iter()
                .map(|v| v.as_str().expect("a domain").to_string()),
        );
        match next {
            Some(n) => cursor = Some(n),
            None => return all,
        }
    }
}

/// What discovery of `discovery(n)` must produce, from the generator directly.
pub(super) fn expected(n: u64) -> Vec<String> {
    let config: DiscoveryInput = serde_json::from_value(discovery(n)).unwrap();
    config.validate("d").unwrap().generator().range(0, n)
}

pub(super) fn status(c: &Campaign) -> PhaseStatus {
    c.phase(DISCOVERY).status
}

fn full_auto_completes_exactly(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let c = create(
            b,
            &who,
            Mode::FullSequence,
            json!({"discovery": discovery(2500)}),
        )
        .await;
        let done = b
            .settle(c.id, "discovery completed", &|c| {
                status(c) == PhaseStatus::Completed
            })
            .await;
        let d = done.phase(DISCOVERY);
        assert_eq!(
            d.auto_start.status,
            AutoStartStatus::Started,
            "{}",
            b.name()
        );
        assert_eq!(d.trigger, Some(crate::domain::Trigger::Auto));
        assert_eq!(
            listed(b, &who, c.id).await,
            expected(2500),
            "{}: exact domains",
            b.name()
        );
    })
}

fn invalid_config_fails_permanently(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let c = create(b, &who, Mode::FullSequence, json!({})).await;
        let done = b
            .settle(c.id, "auto-start failed", &|c| {
                c.phase(DISCOVERY).auto_start.status == AutoStartStatus::Failed
            })
            .await;
        let request = &done.phase(DISCOVERY).auto_start;
        assert_eq!(
            request.error.as_ref().map(|e| e.code.as_str()),
            Some("INVALID_CONFIG")
        );
        assert_eq!(request.attempts, 1, "a permanent failure is not retried");
        assert_eq!(status(&done), PhaseStatus::NotStarted);
    })
}

fn concurrent_starts_start_once(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let c = create(
            b,
            &who,
            Mode::StepByStep,
            json!({"discovery": discovery(100)}),
        )
        .await;
        let starts = (0..8).map(|_| control::start(b.state(), &who, c.id, DISCOVERY));
        let results = futures_util::future::join_all(starts).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{}: exactly one start wins: {results:?}", b.name());
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code(), "PHASE_ALREADY_RUNNING");
        }
        let done = b
            .settle(c.id, "completed", &|c| status(c) == PhaseStatus::Completed)
            .await;
        assert_eq!(done.phase(DISCOVERY).run, 1);
        assert_eq!(listed(b, &who, c.id).await, expected(100));
    })
}

fn redelivered_chunk_is_recorded_once(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let c = create(
            b,
            &who,
            Mode::StepByStep,
            json!({"discovery": discovery(1500)}),
        )
        .await;
        b.lose_messages(c.id).await;
        let started = control::start(b.state(), &who, c.id, DISCOVERY)
            .await
            .expect("start");
        let chunk0 = PhaseWorkMessage {
            campaign_id: c.id,
            phase: DISCOVERY,
            run: 1,
            chunk: 0,
            correlation_id: started.correlation_id.clone(),
        };
        // the same message twice at once, and once more after
        let (a, z) = futures_util::future::join(
            process_chunk(b.state(), &chunk0),
            process_chunk(b.state(), &chunk0),
        )
        .await;
        let recorded = [a.expect("chunk"), z.expect("chunk")]
            .iter()
            .filter(|r| matches!(r, ChunkResult::Recorded(_)))
            .count();
        assert_eq!(
            recorded,
            1,
            "{}: one of two concurrent deliveries records the chunk",
            b.name()
        );
        assert_eq!(
            process_chunk(b.state(), &chunk0).await.expect("chunk"),
            ChunkResult::NothingToDo
        );
        let stale_run = PhaseWorkMessage {
            run: 0,
            chunk: 1,
            ..chunk0.clone()
        };
        assert_eq!(
            process_chunk(b.state(), &stale_run).await.expect("chunk"),
            ChunkResult::NothingToDo
        );
        let now = crate::service::write::load(b.state(), c.id, None)
            .await
            .unwrap();
        assert_eq!(now.phase(DISCOVERY).progress.done, 1000);
        b.restore_messages(c.id).await;
        let chunk1 = PhaseWorkMessage { chunk: 1, ..chunk0 };
        process_chunk(b.state(), &chunk1).await.expect("chunk");
        let done = b
            .settle(c.id, "completed", &|c| status(c) == PhaseStatus::Completed)
            .await;
        assert_eq!(done.phase(DISCOVERY).next_chunk, 2);
        assert_eq!(listed(b, &who, c.id).await, expected(1500));
    })
}
