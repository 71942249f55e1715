//! A sweep goes on past one campaign's failed re-drive (its send refused, as under the
//! `sqs-send` chaos scenario's 50 % send failures): every due campaign is tried, the failure is
//! counted in the report, and the failed one is due again at the next sweep. In-memory only (the
//! memory queue refuses sends on demand; on the local stack the `sqs-send` scenario covers it).

use std::sync::atomic::Ordering;

use super::backlog::seconds_later;
use super::control::running_with_a_lost_chunk;
use super::{Backend, MemoryBackend};
use crate::domain::DISCOVERY;
use crate::service::sweeper;

#[tokio::test]
async fn a_refused_send_fails_one_redrive_and_the_sweep_goes_on() {
    let b = MemoryBackend::new();
    let (_, first) = running_with_a_lost_chunk(&b).await;
    let (_, second) = running_with_a_lost_chunk(&b).await;
    let stale = b.state().settings.stale_phase_seconds;
    b.memory.refuse_sends.store(1, Ordering::SeqCst);
    let report = sweeper::sweep(b.state(), seconds_later(stale + 1), None)
        .await
        .expect("a sweep with a failed re-drive still reports");
    assert_eq!((report.examined, report.failed), (2, 1), "{report:?}");
    assert_eq!(report.redriven.len(), 1, "{report:?}");
    let (redriven, ..) = report.redriven[0];
    assert!(redriven == first || redriven == second);
    // The failed one was recorded as re-driven before its send failed: due again one threshold
    // after that re-drive. (The other one's chunk message is dropped, so no backlog defers it.)
    b.memory.sent.lock().unwrap().clear();
    let later = sweeper::sweep(b.state(), seconds_later(2 * stale + 2), None)
        .await
        .expect("sweep");
    assert_eq!(later.failed, 0, "{later:?}");
    let ids: Vec<_> = later.redriven.iter().map(|r| r.0).collect();
    assert!(ids.contains(&first) && ids.contains(&second), "{later:?}");
    assert!(later.redriven.iter().all(|r| r.1 == DISCOVERY));
}
