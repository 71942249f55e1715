//! The phase dispatcher: turns committed campaign changes (stream records) into messages. This
//! is the transactional outbox: work is scheduled only from what was committed, and the stream's
//! retries make it at-least-once; duplicates are ignored by the workers. The sweeper calls
//! [`in_flight`] for the same messages when a campaign looks stuck.
//!
//! A batch is planned first (pure, [`plan`]: what each campaign's changes call for, without the
//! messages a later change of the same batch made stale), then sent in `SendMessageBatch`es, the
//! failed ones tried again a few times ([`send_planned`]) before the batch reports the earliest
//! record whose message could not be sent (decision 48): the table's stream shard waits behind
//! a failed record, so a transient send failure must cost milliseconds here, not the stream's
//! retry backoff for every campaign behind it.

use std::time::Duration;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;

use crate::domain::{AutoStartStatus, Campaign, PhaseStatus};
use crate::error::AppError;
use crate::lambda::{CampaignChange, Positioned, group_by_campaign, group_changes, retry_from};
pub use crate::messages::Dispatch;
use crate::messages::{AutoStartMessage, PhaseWorkMessage};
use crate::state::AppState;

/// How many times a batch's message is tried before its record fails (the first try included).
pub const SEND_ATTEMPTS: u32 = 4;

/// The pause before the second try of the failed messages; doubled before each further one.
const SEND_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// How long the outbox's copy of a new campaign's auto-start stays hidden (decision 46). The
/// API sent the same message itself a moment earlier (the fast path); delivered together, the
/// two raced for the same start, and under load a third of the losers' conditional writes and
/// re-reads were that race. Hidden for a few seconds, the copy finds the start made (one read)
/// or, when the API's send was lost, starts it a few seconds late; the sweeper stays the last
/// resort.
pub const OUTBOX_COPY_DELAY_SECONDS: i32 = 5;

/// Pure: the messages a change from `old` to `new` calls for:
///  - a running phase that just started, resumed or was re-driven, or whose next chunk moved →
///    its next chunk (of its current run);
///  - a newly queued auto-start (any phase, the first one included: the API's own send is only
///    the fast path, so a new campaign's copy waits [`OUTBOX_COPY_DELAY_SECONDS`]) or a re-driven
///    one → its message.
pub fn dispatches(old: Option<&Campaign>, new: &Campaign) -> Vec<Dispatch> {
    let mut out = Vec::new();
    for phase in &new.phases {
        let before = old.map(|o| o.phase(phase.phase));
        let redriven = |now: Option<u32>, then: Option<u32>| now.is_some_and(|n| Some(n) != then);
        let recovery =
            |p: Option<&crate::domain::PhaseState>| p.and_then(|p| p.recovery.map(|r| r.redrives));
        if phase.status == PhaseStatus::Running {
            let changed = before.is_none_or(|b| {
                b.status != PhaseStatus::Running
                    || b.next_chunk != phase.next_chunk
                    || b.run != phase.run
            }) || redriven(recovery(Some(phase)), recovery(before));
            if changed {
                out.push(Dispatch::Work(work_message(new, phase)));
            }
        }
        let request = &phase.auto_start;
        if request.status == AutoStartStatus::Queued
            && let Some(requested_at) = request.requested_at
        {
            let new_request = before.is_none_or(|b| {
                b.auto_start.status != AutoStartStatus::Queued
                    || b.auto_start.requested_at != Some(requested_at)
            });
            let redrive = redriven(recovery(Some(phase)), recovery(before));
            if new_request || redrive {
                // A new campaign's request was sent by the API as well (create).
                let delay = if old.is_none() && !redrive {
                    OUTBOX_COPY_DELAY_SECONDS
                } else {
                    0
                };
                let m = AutoStartMessage::of(new, phase.phase, requested_at);
                out.push(Dispatch::AutoStart(m, delay));
            }
        }
    }
    out
}

fn work_message(c: &Campaign, phase: &crate::domain::PhaseState) -> PhaseWorkMessage {
    PhaseWorkMessage {
        campaign_id: c.id,
        phase: phase.phase,
        run: phase.run,
        chunk: phase.next_chunk,
        correlation_id: c.correlation_id.clone(),
    }
}

/// Everything a campaign should have in flight right now: the next chunk of its running phase
/// and the message of its queued auto-start (what the sweeper re-sends).
pub fn in_flight(c: &Campaign) -> Vec<Dispatch> {
    let mut out = Vec::new();
    for phase in &c.phases {
        if phase.status == PhaseStatus::Running {
            out.push(Dispatch::Work(work_message(c, phase)));
        }
        if phase.auto_start.status == AutoStartStatus::Queued
            && let Some(requested_at) = phase.auto_start.requested_at
        {
            let m = AutoStartMessage::of(c, phase.phase, requested_at);
            out.push(Dispatch::AutoStart(m, 0));
        }
    }
    out
}

/// Pure: what one campaign's changes of a batch (in stream order) call for, each message with
/// the position of the change that called for it. A message the campaign's latest image in the
/// batch no longer has in flight ([`in_flight`]: its chunk was done, its request answered, the
/// phase left `running`) is dropped, and so is a second copy of one already planned: a worker
/// would only find them stale. A campaign whose last change removed it calls for nothing.
pub fn plan(group: &[Positioned]) -> Vec<(usize, Dispatch)> {
    let wanted = group
        .last()
        .and_then(|(_, c)| c.new.as_ref())
        .map(in_flight)
        .unwrap_or_default();
    let mut out: Vec<(usize, Dispatch)> = Vec::new();
    for (pos, change) in group {
        let Some(new) = &change.new else { continue };
        for d in dispatches(change.old.as_ref(), new) {
            let stale = !wanted.iter().any(|w| w.same_work(&d));
            let planned = out.iter().any(|(_, p)| p.same_work(&d));
            if !stale && !planned {
                out.push((*pos, d));
            }
        }
    }
    out
}

/// Sends `planned` ([`crate::store::Queues::send_all`]), trying the failed messages again up to
/// [`SEND_ATTEMPTS`] times in all, [`SEND_RETRY_PAUSE`] apart and doubling; answers the earliest
/// position whose message could still not be sent.
pub async fn send_planned(state: &AppState, planned: Vec<(usize, Dispatch)>) -> Option<usize> {
    let mut pending = planned;
    for attempt in 1..=SEND_ATTEMPTS {
        if pending.is_empty() {
            return None;
        }
        if attempt > 1 {
            tokio::time::sleep(SEND_RETRY_PAUSE * 2u32.pow(attempt - 2)).await;
        }
        let messages: Vec<Dispatch> = pending.iter().map(|(_, d)| d.clone()).collect();
        // A message without an answer counts as failed.
        let mut results = state.queues.send_all(&messages).await.into_iter();
        pending.retain(|(_, d)| match results.next() {
            Some(Ok(())) => {
                tracing::debug!(dispatch = ?d, attempt, "dispatched");
                false
            }
            Some(Err(e)) => {
                tracing::warn!(campaignId = %d.campaign_id(), correlationId = %d.correlation_id(), attempt, error = %e, "dispatch send failed");
                true
            }
            None => true,
        });
    }
    pending.iter().map(|(pos, _)| *pos).min()
}

/// Plans and sends what `groups` (one campaign's changes each) call for; answers the earliest
/// position whose change could not be dispatched (its planning panicked, or a message of it
/// could not be sent), from which the stream must retry.
pub async fn dispatch_groups(state: &AppState, groups: &[Vec<Positioned>]) -> Option<usize> {
    let mut failed_at: Option<usize> = None;
    let mut planned = Vec::new();
    for group in groups {
        match std::panic::catch_unwind(|| plan(group)) {
            Ok(p) => planned.extend(p),
            Err(_) => {
                let pos = group.first().map_or(0, |(pos, _)| *pos);
                tracing::error!(
                    position = pos,
                    "dispatch planning panicked; retrying from here"
                );
                failed_at = Some(failed_at.map_or(pos, |f| f.min(pos)));
            }
        }
    }
    let unsent = send_planned(state, planned).await;
    [failed_at, unsent].into_iter().flatten().min()
}

/// The dispatcher's stream batch: planned per campaign, sent together, retried by the event
/// source from the earliest record whose messages did not all go out (those sent are sent
/// again then; workers ignore duplicates).
pub async fn handle_batch(state: &AppState, event: StreamEvent) -> DynamoDbEventResponse {
    let failed_at = dispatch_groups(state, &group_by_campaign(&event)).await;
    retry_from(&event, failed_at)
}

/// [`dispatch_groups`] for changes without a stream (the in-memory test kit): positions are the
/// changes' order.
pub async fn dispatch_changes(
    state: &AppState,
    changes: Vec<CampaignChange>,
) -> Result<(), AppError> {
    let groups = group_changes(changes.into_iter().enumerate());
    match dispatch_groups(state, &groups).await {
        None => Ok(()),
        Some(pos) => Err(AppError::Unavailable(format!(
            "change {pos}'s messages could not be sent"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{CampaignConfig, DISCOVERY, Mode, PIPELINE, StartPlan, Trigger};
    use crate::net::AddressPolicy;
    use crate::settings::Settings;
    use crate::store::memory::Sent;

    fn campaign(mode: Mode) -> Campaign {
        let (id, config) = (uuid::Uuid::new_v4(), CampaignConfig::default());
        Campaign::new(
            id,
            "owner",
            "c".into(),
            mode,
            config,
            "corr".into(),
            Utc::now(),
        )
    }

    #[test]
    fn a_new_campaigns_copy_waits_and_a_later_request_does_not() {
        let created = campaign(Mode::FullSequence);
        match dispatches(None, &created).as_slice() {
            [Dispatch::AutoStart(m, delay)] => {
                assert_eq!((m.campaign_id, m.phase), (created.id, PIPELINE[0]));
                assert_eq!(*delay, OUTBOX_COPY_DELAY_SECONDS);
            }
            other => panic!("{other:?}"),
        }
        // Manual, then Full Auto: the API sent it too, but this is not the create's record; a
        // request queued by any later write (auto-advance, mode change) goes out at once.
        let manual = campaign(Mode::StepByStep);
        assert!(dispatches(None, &manual).is_empty());
        let mut full = manual.clone();
        full.change_mode(Mode::FullSequence, Utc::now());
        match dispatches(Some(&manual), &full).as_slice() {
            [Dispatch::AutoStart(_, 0)] => {}
            other => panic!("{other:?}"),
        }
    }

    fn change(pos: usize, old: Option<&Campaign>, new: Option<&Campaign>) -> Positioned {
        let change = CampaignChange {
            event_name: "MODIFY".into(),
            old: old.cloned(),
            new: new.cloned(),
            sequence_number: Some(pos.to_string()),
            approximate_at: Utc::now(),
        };
        (pos, change)
    }

    /// A new Full Auto campaign, then discovery started by its auto-start, then two chunks done:
    /// each image in turn.
    fn history() -> Vec<Campaign> {
        let created = campaign(Mode::FullSequence);
        let mut started = created.clone();
        let plan = StartPlan {
            total: 30,
            chunk_size: 10,
        };
        started
            .start_phase(DISCOVERY, Trigger::Auto, plan, 1, Utc::now())
            .expect("start");
        let mut images = vec![created, started];
        for chunk in 0..2 {
            let mut next = images.last().expect("image").clone();
            next.record_chunk(DISCOVERY, 1, chunk, 10, &[], Utc::now())
                .expect("recorded");
            images.push(next);
        }
        images
    }

    fn group(images: &[Campaign]) -> Vec<Positioned> {
        (0..images.len())
            .map(|i| change(i, i.checked_sub(1).map(|p| &images[p]), Some(&images[i])))
            .collect()
    }

    fn chunk_of(d: &Dispatch) -> Option<u64> {
        match d {
            Dispatch::Work(m) => Some(m.chunk),
            Dispatch::AutoStart(..) => None,
        }
    }

    #[test]
    fn a_batch_sends_only_what_the_campaigns_latest_image_still_wants() {
        let images = history();
        // The whole history in one batch: the request was answered and chunks 0 and 1 were
        // done within it; only chunk 2 is still wanted, and it is the last change's.
        let planned = plan(&group(&images));
        assert_eq!(planned.len(), 1, "{planned:?}");
        assert_eq!((planned[0].0, chunk_of(&planned[0].1)), (3, Some(2)));
        // Created and started in one batch: the start's first chunk, no auto-start copy.
        let planned = plan(&group(&images[..2]));
        assert_eq!(planned.len(), 1, "{planned:?}");
        assert_eq!((planned[0].0, chunk_of(&planned[0].1)), (1, Some(0)));
        // Created alone: the delayed copy of its auto-start.
        match plan(&group(&images[..1])).as_slice() {
            [(0, Dispatch::AutoStart(_, delay))] => {
                assert_eq!(*delay, OUTBOX_COPY_DELAY_SECONDS)
            }
            other => panic!("{other:?}"),
        }
        // Removed at the end of the batch: nothing.
        let mut removed = group(&images);
        removed.push(change(4, images.last(), None));
        assert!(plan(&removed).is_empty());
        // A re-drive of the chunk already planned in the batch: one message, the first change's.
        let mut redriven = images[1].clone();
        redriven.record_redrive(
            DISCOVERY,
            crate::domain::RecoveryReason::StalledPhase,
            Utc::now(),
        );
        let twice = vec![
            change(0, Some(&images[0]), Some(&images[1])),
            change(1, Some(&images[1]), Some(&redriven)),
        ];
        let planned = plan(&twice);
        assert_eq!(planned.len(), 1, "{planned:?}");
        assert_eq!((planned[0].0, chunk_of(&planned[0].1)), (0, Some(0)));
    }

    #[tokio::test]
    async fn a_failed_send_is_tried_again_and_only_a_lasting_failure_fails_its_record() {
        let (state, memory) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
        let images = history();
        let planned = || {
            vec![
                (7, in_flight(&images[3]).remove(0)),
                (2, in_flight(&images[1]).remove(0)),
            ]
        };
        // Both refused on the first try: both sent on the second, nothing to retry.
        memory
            .refuse_sends
            .store(2, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(send_planned(&state, planned()).await, None);
        let sent: Vec<Option<u64>> = memory
            .take_sent()
            .iter()
            .map(|m| match m {
                Sent::Work(m) => Some(m.chunk),
                Sent::AutoStart(_) => None,
            })
            .collect();
        assert_eq!(sent, vec![Some(2), Some(0)]);
        // Refused every time: the earliest position of the unsent ones fails.
        let refusals = 2 * SEND_ATTEMPTS as usize;
        memory
            .refuse_sends
            .store(refusals, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(send_planned(&state, planned()).await, Some(2));
        assert!(memory.take_sent().is_empty());
        // One refusal fewer: the last try sends the second message and refuses the first, whose
        // position alone fails.
        memory
            .refuse_sends
            .store(refusals - 1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(send_planned(&state, planned()).await, Some(7));
        assert_eq!(memory.take_sent().len(), 1);
    }
}
