//! Service tests written once and run over both backends (jonhoo/wewerewondering's model): the
//! in-memory one here, in `cargo test`, with [`MemoryBackend`] playing the stream and the queues;
//! and the local stack (moto + the gateway's pollers) in the integration suite
//! (`tests/tests/service_bodies.rs`). Each body in [`bodies`] drives the services through a
//! [`Backend`] and checks the committed state.
//!
//! Compiled for this crate's tests and, with the `testkit` feature, for the integration tests.

mod accounting;
#[cfg(test)]
mod backlog;
pub mod bodies;
pub mod control;
#[cfg(test)]
mod sweep_failures;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::domain::Campaign;
use crate::lambda::CampaignChange;
use crate::messages::{AutoStartMessage, PhaseWorkMessage};
use crate::net::AddressPolicy;
use crate::service::{autostart, dispatch, phase_work};
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::memory::{Memory, Sent};

/// What a test body needs of a backend besides the services.
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    fn state(&self) -> &AppState;
    /// Lets the system run (dispatcher, workers) until campaign `id` satisfies `done`, and returns
    /// it; panics (naming `what`) when it does not get there.
    fn settle<'a>(
        &'a self,
        id: Uuid,
        what: &'a str,
        done: &'a (dyn Fn(&Campaign) -> bool + Send + Sync),
    ) -> BoxFuture<'a, Campaign>;
    /// From now on, every queue message of campaign `id` is lost (never handled) until
    /// [`Backend::restore_messages`].
    fn lose_messages(&self, id: Uuid) -> BoxFuture<'_, ()>;
    fn restore_messages(&self, id: Uuid) -> BoxFuture<'_, ()>;
}

/// The in-memory backend: the stream is [`Memory`]'s list of changes, the queues its list of
/// sent messages; [`MemoryBackend::pump`] delivers both until nothing is left.
pub struct MemoryBackend {
    pub state: AppState,
    pub memory: Arc<Memory>,
    lost: Mutex<HashSet<Uuid>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        let (state, memory) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
        Self {
            state,
            memory,
            lost: Mutex::new(HashSet::new()),
        }
    }

    fn is_lost(&self, id: Uuid) -> bool {
        self.lost
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
    }

    /// Delivers committed changes to the dispatcher and sent messages to their workers, until
    /// neither is left. A transiently failing message is delivered again, at most 10 times.
    pub async fn pump(&self) {
        for _ in 0..100_000 {
            let changes = self.memory.take_changes();
            let sent = self.memory.take_sent();
            if changes.is_empty() && sent.is_empty() {
                return;
            }
            let changes = changes
                .into_iter()
                .map(|(old, new)| CampaignChange {
                    event_name: "MODIFY".into(),
                    old,
                    new,
                    sequence_number: None,
                    approximate_at: chrono::Utc::now(),
                })
                .collect();
            dispatch::dispatch_changes(&self.state, changes)
                .await
                .expect("the in-memory dispatcher cannot fail");
            for message in sent {
                self.deliver(message).await;
            }
        }
        panic!("the in-memory system never came to rest");
    }

    async fn deliver(&self, message: Sent) {
        match message {
            Sent::AutoStart(m) if !self.is_lost(m.campaign_id) => self.auto_start(&m).await,
            Sent::Work(m) if !self.is_lost(m.campaign_id) => self.work(&m).await,
            _ => {}
        }
    }

    async fn auto_start(&self, m: &AutoStartMessage) {
        for receive in 1..=10 {
            if autostart::process(&self.state, m, receive).await.is_ok() {
                return;
            }
        }
    }

    async fn work(&self, m: &PhaseWorkMessage) {
        for _ in 0..10 {
            if phase_work::process_chunk(&self.state, m).await.is_ok() {
                return;
            }
        }
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn state(&self) -> &AppState {
        &self.state
    }

    fn settle<'a>(
        &'a self,
        id: Uuid,
        what: &'a str,
        done: &'a (dyn Fn(&Campaign) -> bool + Send + Sync),
    ) -> BoxFuture<'a, Campaign> {
        Box::pin(async move {
            self.pump().await;
            let c = self
                .memory
                .campaigns
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&id)
                .cloned()
                .unwrap_or_else(|| panic!("campaign {id} is gone"));
            assert!(
                done(&c),
                "memory: {what} did not happen; the system came to rest at {c:#?}"
            );
            c
        })
    }

    fn lose_messages(&self, id: Uuid) -> BoxFuture<'_, ()> {
        self.lost
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        Box::pin(async {})
    }

    fn restore_messages(&self, id: Uuid) -> BoxFuture<'_, ()> {
        self.lost
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        Box::pin(async {})
    }
}

/// Runs every body, concurrently, each on the backend `make` builds for it; reports every body
/// that failed by name.
pub async fn run_all(make: impl Fn() -> Arc<dyn Backend>) {
    let runs: Vec<_> = bodies::ALL
        .iter()
        .map(|(name, body)| {
            let backend = make();
            let body = *body;
            (*name, tokio::spawn(async move { body(&*backend).await }))
        })
        .collect();
    let mut failed = Vec::new();
    for (name, run) in runs {
        if let Err(e) = run.await {
            failed.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failed.is_empty(),
        "failed bodies:\n  {}",
        failed.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_body_on_the_memory_backend() {
        run_all(|| Arc::new(MemoryBackend::new())).await;
    }
}
