//! Test bodies of what a create and a campaign's life count: one campaign per
//! `Idempotency-Key` (replay, reuse, a crashed first request), and the per-user quota counters
//! following the campaigns. Listed in [`super::bodies::ALL`].

use chrono::{Duration, Utc};
use futures_util::future::BoxFuture;
use serde_json::json;

use super::Backend;
use super::bodies::{caller, create, discovery, input, status};
use crate::domain::{AutoStartStatus, Campaign, DISCOVERY, Mode, PhaseStatus, Readiness};
use crate::service::control;
use crate::service::create::{self, Created, body_hash};
use crate::store::{IdempotencyClaim, StoredResponse};

pub(super) fn idempotent_create(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let body = json!({"discovery": discovery(10)});
        let hash = body_hash(body.to_string().as_bytes());
        let render = |c: &Campaign, _: &[Readiness]| StoredResponse {
            status: 201,
            body: c.id.to_string(),
            headers: vec![],
        };
        let first = create::create(
            b.state(),
            &who,
            input(Mode::StepByStep, body.clone()),
            Some(("k1", &hash)),
            render,
        )
        .await;
        let Ok(Created::New(first, _)) = first else {
            panic!("{first:?}")
        };
        let again = create::create(
            b.state(),
            &who,
            input(Mode::StepByStep, body.clone()),
            Some(("k1", &hash)),
            render,
        )
        .await;
        match again {
            Ok(Created::Replayed(r)) => {
                assert_eq!(r.body, first.id.to_string(), "the same campaign")
            }
            other => panic!("{}: expected a replay, got {other:?}", b.name()),
        }
        let other = create::create(
            b.state(),
            &who,
            input(Mode::StepByStep, body.clone()),
            Some(("k1", "other")),
            render,
        )
        .await;
        assert_eq!(
            other.map(|_| ()).unwrap_err().code(),
            "IDEMPOTENCY_KEY_REUSED"
        );

        // A request that claimed "k2" and died before its insert: its lock runs out, and the
        // retry creates exactly one campaign.
        let dead = IdempotencyClaim {
            pk: format!("{}#k2", who.owner),
            hash: hash.clone(),
            token: "dead-request".into(),
        };
        let long_ago = (Utc::now() - Duration::seconds(120)).timestamp();
        b.state()
            .idempotency
            .claim(&dead, long_ago, create::LOCK_SECONDS, create::TTL_SECONDS)
            .await
            .unwrap();
        let retried = create::create(
            b.state(),
            &who,
            input(Mode::StepByStep, body.clone()),
            Some(("k2", &hash)),
            render,
        )
        .await;
        assert!(matches!(retried, Ok(Created::New(..))), "{retried:?}");
        let (mine, _) = b
            .state()
            .campaigns
            .list(&who.owner, 100, None)
            .await
            .unwrap();
        assert_eq!(mine.len(), 2, "{}: one campaign per key", b.name());
    })
}

/// The active-slot counter moves with the campaigns (taken by a queued auto-start or a start,
/// kept through auto-advance and pause, released by the end, a stop, a failure, a delete) and
/// the day's domains count each discovery start.
pub(super) fn quota_slots_follow_the_campaigns(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let day = crate::service::write::utc_day();
        let usage = || b.state().campaigns.usage(&who.owner, &day);
        let full = create(
            b,
            &who,
            Mode::FullSequence,
            json!({"discovery": discovery(50)}),
        )
        .await;
        assert_eq!(
            usage().await.unwrap().0,
            1,
            "{}: a queued auto-start holds a slot",
            b.name()
        );
        // discovery completes; validation's auto-start fails (no dns persona): slot released
        b.settle(full.id, "validation refused", &|c| {
            c.phase(crate::domain::VALIDATION).auto_start.status == AutoStartStatus::Failed
        })
        .await;
        assert_eq!(usage().await.unwrap(), (0, 50), "{}", b.name());
        let manual = create(
            b,
            &who,
            Mode::StepByStep,
            json!({"discovery": discovery(3000)}),
        )
        .await;
        control::start(b.state(), &who, manual.id, DISCOVERY)
            .await
            .expect("start");
        control::control(
            b.state(),
            &who,
            manual.id,
            DISCOVERY,
            control::Action::Pause,
        )
        .await
        .expect("pause");
        assert_eq!(usage().await.unwrap(), (1, 3050));
        control::control(b.state(), &who, manual.id, DISCOVERY, control::Action::Stop)
            .await
            .expect("stop");
        b.settle(manual.id, "stopped", &|c| status(c) == PhaseStatus::Stopped)
            .await;
        assert_eq!(
            usage().await.unwrap().0,
            0,
            "{}: a stop releases the slot",
            b.name()
        );
        let queued = create(
            b,
            &who,
            Mode::StepByStep,
            json!({"discovery": discovery(10)}),
        )
        .await;
        b.lose_messages(queued.id).await;
        crate::service::campaigns::change_mode(
            b.state(),
            &who,
            queued.id,
            Mode::FullSequence,
            None,
        )
        .await
        .expect("mode");
        assert_eq!(usage().await.unwrap().0, 1);
        crate::service::campaigns::delete(b.state(), &who, queued.id)
            .await
            .expect("delete");
        assert_eq!(
            usage().await.unwrap().0,
            0,
            "{}: a delete releases a queued slot",
            b.name()
        );
        b.restore_messages(queued.id).await;
    })
}
