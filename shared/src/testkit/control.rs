//! Test bodies of phase control and recovery: pause/resume, stop/start again, the sweeper's
//! re-drives (see [`super::bodies`]).

use chrono::{Duration, Utc};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Backend;
use super::bodies::{caller, create, discovery, expected, listed, status};
use crate::domain::{AutoStartStatus, DISCOVERY, Mode, PhaseStatus, Redrive};
use crate::error::AppError;
use crate::messages::PhaseWorkMessage;
use crate::service::control::{self, Action};
use crate::service::phase_work::{ChunkResult, process_chunk};
use crate::service::sweeper;

pub fn pause_then_resume(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let n = 6000;
        let c = create(
            b,
            &who,
            Mode::StepByStep,
            json!({"discovery": discovery(n)}),
        )
        .await;
        control::start(b.state(), &who, c.id, DISCOVERY)
            .await
            .expect("start");
        control::control(b.state(), &who, c.id, DISCOVERY, Action::Pause)
            .await
            .expect("pause");
        let paused = b
            .settle(c.id, "paused", &|c| status(c) == PhaseStatus::Paused)
            .await;
        // a chunk in flight when it was paused may still land; then nothing more moves
        let done = paused.phase(DISCOVERY).progress.done;
        assert!(done < n, "{}: paused before the end", b.name());
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let still = b
            .settle(c.id, "still paused", &|c| status(c) == PhaseStatus::Paused)
            .await;
        assert!(
            still.phase(DISCOVERY).progress.done <= done + 1000,
            "at most the chunk in flight lands"
        );
        // a chunk message delivered while paused (a duplicate, a re-drive) starts nothing
        let next = still.phase(DISCOVERY);
        let late = PhaseWorkMessage {
            campaign_id: c.id,
            phase: DISCOVERY,
            run: next.run,
            chunk: next.next_chunk,
            correlation_id: still.correlation_id.clone(),
        };
        assert_eq!(
            process_chunk(b.state(), &late).await.expect("chunk"),
            ChunkResult::NothingToDo
        );
        let again = control::control(b.state(), &who, c.id, DISCOVERY, Action::Pause).await;
        assert_eq!(again.unwrap_err().code(), "PHASE_NOT_RUNNING");
        control::control(b.state(), &who, c.id, DISCOVERY, Action::Resume)
            .await
            .expect("resume");
        let resumed = control::control(b.state(), &who, c.id, DISCOVERY, Action::Resume).await;
        assert!(
            matches!(resumed, Err(AppError::Conflict { .. })),
            "{resumed:?}"
        );
        let end = b
            .settle(c.id, "completed", &|c| status(c) == PhaseStatus::Completed)
            .await;
        assert_eq!(end.phase(DISCOVERY).run, 1, "the same run went on");
        assert_eq!(
            listed(b, &who, c.id).await,
            expected(n),
            "{}: nothing lost or repeated",
            b.name()
        );
    })
}

pub fn stop_then_start_again(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let n = 5000;
        let c = create(
            b,
            &who,
            Mode::StepByStep,
            json!({"discovery": discovery(n)}),
        )
        .await;
        control::start(b.state(), &who, c.id, DISCOVERY)
            .await
            .expect("start");
        control::control(b.state(), &who, c.id, DISCOVERY, Action::Stop)
            .await
            .expect("stop");
        let stopped = b
            .settle(c.id, "stopped", &|c| status(c) == PhaseStatus::Stopped)
            .await;
        assert!(stopped.phase(DISCOVERY).progress.done < n);
        let err = control::control(b.state(), &who, c.id, DISCOVERY, Action::Resume)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "PHASE_NOT_PAUSED");
        let again = control::start(b.state(), &who, c.id, DISCOVERY)
            .await
            .expect("start again");
        assert_eq!(
            (
                again.phase(DISCOVERY).run,
                again.phase(DISCOVERY).progress.done
            ),
            (2, 0)
        );
        let end = b
            .settle(c.id, "completed", &|c| status(c) == PhaseStatus::Completed)
            .await;
        assert_eq!(end.phase(DISCOVERY).run, 2);
        assert_eq!(
            listed(b, &who, c.id).await,
            expected(n),
            "{}: exactly one run's output",
            b.name()
        );
        let err = control::start(b.state(), &who, c.id, DISCOVERY)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "PHASE_ALREADY_COMPLETED");
    })
}

/// A moment `seconds` (and a bit) from now: what the sweeper sees once that much time passed.
fn stale_by(_: &dyn Backend, seconds: u64) -> chrono::DateTime<Utc> {
    Utc::now() + Duration::seconds(seconds as i64 + 1)
}

/// A Step-by-step campaign of 2,000 domains whose discovery is running with its chunk lost (the
/// messages flow again from now on).
pub(super) async fn running_with_a_lost_chunk(b: &dyn Backend) -> (crate::service::Caller, Uuid) {
    let who = caller();
    let c = create(
        b,
        &who,
        Mode::StepByStep,
        json!({"discovery": discovery(2000)}),
    )
    .await;
    b.lose_messages(c.id).await;
    control::start(b.state(), &who, c.id, DISCOVERY)
        .await
        .expect("start");
    b.settle(c.id, "running without progress", &|c| {
        status(c) == PhaseStatus::Running
    })
    .await;
    b.restore_messages(c.id).await;
    (who, c.id)
}

pub fn sweeper_redrives_a_lost_chunk(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let (who, id) = running_with_a_lost_chunk(b).await;
        let later = stale_by(b, b.state().settings.stale_phase_seconds);
        let outcome = sweeper::redrive(b.state(), id, None, later)
            .await
            .expect("redrive");
        assert!(
            matches!(outcome, Some((_, _, Redrive::Redriven(1)))),
            "{}: {outcome:?}",
            b.name()
        );
        let done = b
            .settle(id, "completed", &|c| status(c) == PhaseStatus::Completed)
            .await;
        assert!(
            done.phase(DISCOVERY).recovery.is_none(),
            "progress clears the re-drive count"
        );
        assert_eq!(listed(b, &who, id).await, expected(2000));
    })
}

pub fn fruitless_redrives_stall(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let c = create(
            b,
            &who,
            Mode::StepByStep,
            json!({"discovery": discovery(10)}),
        )
        .await;
        b.lose_messages(c.id).await;
        control::start(b.state(), &who, c.id, DISCOVERY)
            .await
            .expect("start");
        let stale = b.state().settings.stale_phase_seconds;
        for n in 1..=3u32 {
            let later = stale_by(b, stale * u64::from(n) + u64::from(n));
            let outcome = sweeper::redrive(b.state(), c.id, None, later)
                .await
                .expect("redrive");
            assert!(
                matches!(outcome, Some((_, _, Redrive::Redriven(k))) if k == n),
                "{outcome:?}"
            );
        }
        let later = stale_by(b, stale * 5);
        let outcome = sweeper::redrive(b.state(), c.id, None, later)
            .await
            .expect("redrive");
        assert!(
            matches!(outcome, Some((_, _, Redrive::Stalled))),
            "{}: {outcome:?}",
            b.name()
        );
        let failed = b
            .settle(c.id, "failed", &|c| status(c) == PhaseStatus::Failed)
            .await;
        assert_eq!(
            failed
                .phase(DISCOVERY)
                .error
                .as_ref()
                .map(|e| e.code.as_str()),
            Some("STALLED")
        );
        b.restore_messages(c.id).await;
        control::start(b.state(), &who, c.id, DISCOVERY)
            .await
            .expect("a stalled phase starts again");
        b.settle(c.id, "completed", &|c| status(c) == PhaseStatus::Completed)
            .await;
    })
}

pub fn sweeper_redrives_a_stale_queued_auto_start(b: &dyn Backend) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let who = caller();
        let mut config = Map::new();
        config.insert("discovery".into(), discovery(30));
        let c = create(b, &who, Mode::StepByStep, Value::Object(config)).await;
        // the API's send and the outbox's are both lost
        b.lose_messages(c.id).await;
        crate::service::campaigns::change_mode(b.state(), &who, c.id, Mode::FullSequence, None)
            .await
            .expect("mode");
        let queued = b
            .settle(c.id, "still queued", &|c| {
                c.phase(DISCOVERY).auto_start.status == AutoStartStatus::Queued
            })
            .await;
        assert_eq!(status(&queued), PhaseStatus::NotStarted);
        b.restore_messages(c.id).await;
        let later = stale_by(b, b.state().settings.stale_queued_seconds);
        let outcome = sweeper::redrive(b.state(), c.id, None, later)
            .await
            .expect("redrive");
        assert!(
            matches!(
                outcome,
                Some((
                    _,
                    crate::domain::RecoveryReason::StaleQueued,
                    Redrive::Redriven(1)
                ))
            ),
            "{}: {outcome:?}",
            b.name()
        );
        let done = b
            .settle(c.id, "completed", &|c| status(c) == PhaseStatus::Completed)
            .await;
        assert_eq!(
            done.phase(DISCOVERY).auto_start.status,
            AutoStartStatus::Started
        );
    })
}
