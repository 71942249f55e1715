//! The phase dispatcher: turns committed campaign changes (stream records) into messages. This
//! is the transactional outbox: work is scheduled only from what was committed, and the stream's
//! retries make it at-least-once; duplicates are ignored by the workers. The sweeper calls
//! [`in_flight`] for the same messages when a campaign looks stuck.

use crate::domain::{AutoStartStatus, Campaign, PhaseStatus};
use crate::error::AppError;
use crate::lambda::CampaignChange;
use crate::messages::{AutoStartMessage, PhaseWorkMessage};
use crate::state::AppState;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    Work(PhaseWorkMessage),
    /// An auto-start message, hidden for this many seconds first.
    AutoStart(AutoStartMessage, i32),
}

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

pub async fn send(state: &AppState, dispatch: &Dispatch) -> Result<(), AppError> {
    match dispatch {
        Dispatch::Work(m) => state.queues.send_work(m).await,
        Dispatch::AutoStart(m, delay) => state.queues.send_auto_start(m, *delay).await,
    }
}

/// Sends every message one committed change calls for. A failed send fails the record, and the
/// stream retries it (messages already sent are sent again; workers ignore duplicates).
pub async fn handle_change(state: &AppState, change: CampaignChange) -> Result<(), AppError> {
    let Some(new) = &change.new else {
        return Ok(());
    };
    for d in dispatches(change.old.as_ref(), new) {
        send(state, &d).await?;
        tracing::debug!(dispatch = ?d, "dispatched");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{CampaignConfig, Mode, PIPELINE};

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
}
