//! The sweeper and the queues' backlog (decision 39): a stale phase or auto-start whose queue has
//! messages waiting is deferred, neither re-driven nor counted towards `STALLED`, until the
//! backlog is gone or it has been stale for `STALE_BACKLOG_SECONDS`. In-memory only: on the
//! local stack the pollers empty a backlog before a test could sweep against it (the
//! `pause-resume-storm` load scenario covers the stack at scale).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::bodies::{expected, listed, status};
use super::control::running_with_a_lost_chunk;
use super::{Backend, MemoryBackend};
use crate::domain::{DISCOVERY, PhaseStatus, RecoveryReason};
use crate::messages::{AutoStartMessage, PhaseWorkMessage};
use crate::service::sweeper;

/// Someone else's chunk, waiting in the phase-work queue.
async fn work_backlog(b: &MemoryBackend) {
    let m = PhaseWorkMessage {
        campaign_id: Uuid::new_v4(),
        phase: DISCOVERY,
        run: 1,
        chunk: 0,
        correlation_id: "someone-else".into(),
    };
    b.state().queues.send_work(&m).await.expect("send");
}

/// `seconds` from now (a sweep's clock).
pub(super) fn seconds_later(seconds: u64) -> DateTime<Utc> {
    Utc::now() + Duration::seconds(seconds as i64)
}

#[tokio::test]
async fn a_stale_phase_behind_a_backlog_is_deferred_then_redriven_once_it_drains() {
    let b = MemoryBackend::new();
    let (who, id) = running_with_a_lost_chunk(&b).await;
    work_backlog(&b).await;
    let stale = b.state().settings.stale_phase_seconds;
    // More sweeps than MAX_REDRIVES, all within STALE_BACKLOG_SECONDS: none counts.
    for n in 1..=5 {
        let report = sweeper::sweep(b.state(), seconds_later(stale * n + 1), None)
            .await
            .expect("sweep");
        assert_eq!(
            report.deferred,
            vec![(id, DISCOVERY, RecoveryReason::StalledPhase)]
        );
        assert!(
            report.redriven.is_empty() && report.stalled.is_empty(),
            "{report:?}"
        );
    }
    let c = b.state().campaigns.get(id).await.unwrap().unwrap();
    assert_eq!(status(&c), PhaseStatus::Running);
    assert!(
        c.phase(DISCOVERY).recovery.is_none(),
        "a deferral is not a re-drive"
    );

    b.pump().await; // the backlog drains
    let report = sweeper::sweep(b.state(), seconds_later(stale * 6 + 1), None)
        .await
        .expect("sweep");
    assert!(report.deferred.is_empty(), "{report:?}");
    assert_eq!(
        report.redriven,
        vec![(id, DISCOVERY, RecoveryReason::StalledPhase, 1)]
    );
    b.settle(id, "completed", &|c| status(c) == PhaseStatus::Completed)
        .await;
    assert_eq!(listed(&b, &who, id).await, expected(2000));
}

#[tokio::test]
async fn a_phase_stale_past_the_backlog_limit_is_redriven_anyway() {
    let b = MemoryBackend::new();
    let (_, id) = running_with_a_lost_chunk(&b).await;
    work_backlog(&b).await;
    let limit = b.state().settings.stale_backlog_seconds;
    let report = sweeper::sweep(b.state(), seconds_later(limit + 1), None)
        .await
        .expect("sweep");
    assert!(report.deferred.is_empty(), "{report:?}");
    assert_eq!(
        report.redriven,
        vec![(id, DISCOVERY, RecoveryReason::StalledPhase, 1)]
    );
}

#[tokio::test]
async fn only_the_phases_own_queue_counts() {
    let b = MemoryBackend::new();
    let (_, id) = running_with_a_lost_chunk(&b).await;
    let m = AutoStartMessage {
        campaign_id: Uuid::new_v4(),
        phase: DISCOVERY,
        correlation_id: "someone-else".into(),
        requested_at: Utc::now(),
    };
    b.state().queues.send_auto_start(&m, 0).await.expect("send");
    let stale = b.state().settings.stale_phase_seconds;
    let report = sweeper::sweep(b.state(), seconds_later(stale + 1), None)
        .await
        .expect("sweep");
    assert!(report.deferred.is_empty(), "{report:?}");
    assert_eq!(
        report.redriven,
        vec![(id, DISCOVERY, RecoveryReason::StalledPhase, 1)]
    );
}
