//! The subscribers of one stream batch: its owner's topic is read once per owner and batch
//! instead of once per record, and a campaign's own topic only when the owner's topic holds a
//! campaign-subscription marker (`store::dynamo_ws`: one of the owner's connections subscribed
//! to a single campaign). Under the 50-wizard load every record had its own group (a batch seldom
//! holds two records of one campaign) and both topics were read for every record: a third of
//! moto's DynamoDB requests (issue 19). With `*` subscribers only, a record costs at most one
//! lookup.
//!
//! Invariant (the same that lets a group read its campaign's subscribers once): every record of
//! a batch was committed before the batch was read, so a connection that subscribes after a
//! lookup made while the batch is published reads the campaign's status (EVENTS.md: subscribe,
//! then resync) after those commits and misses nothing. The same holds for a campaign topic
//! skipped for want of a marker: the marker is written before the campaign subscription, so a
//! subscription the owner lookup could not see was made after it. Nothing outlives the batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::OnceCell;

use crate::domain::Campaign;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{Subscriber, Topic};

/// One batch's owner-topic lookups, shared by its campaign groups.
#[derive(Debug, Default)]
pub struct BatchSubscribers {
    owners: Mutex<HashMap<String, Arc<OnceCell<Vec<Subscriber>>>>>,
}

impl BatchSubscribers {
    /// The live connections subscribed to `campaign` or to all of its owner's campaigns, once
    /// each; the owner's topic is read at most once per batch (a failed read is tried again by
    /// the next record that needs it), the campaign's only when the owner's holds a marker.
    pub async fn of(
        &self,
        state: &AppState,
        campaign: &Campaign,
    ) -> Result<Vec<Subscriber>, AppError> {
        let now = Utc::now().timestamp();
        let owner = campaign.owner_id.clone();
        let cell = self
            .owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(owner.clone())
            .or_default()
            .clone();
        let by_owner = Topic::Owner(owner);
        let owners = cell
            .get_or_try_init(|| state.ws.subscribers(&by_owner, now))
            .await?;
        let by_campaign = if owners.iter().any(Subscriber::is_campaign_marker) {
            state
                .ws
                .subscribers(&Topic::Campaign(campaign.id), now)
                .await?
        } else {
            Vec::new()
        };
        Ok(merge(campaign, by_campaign, owners.iter().cloned()))
    }
}

/// `by_campaign` then `by_owner`, each connection once, only the campaign owner's connections
/// (a subscription is only honoured for the campaign's owner).
pub fn merge(
    campaign: &Campaign,
    by_campaign: Vec<Subscriber>,
    by_owner: impl IntoIterator<Item = Subscriber>,
) -> Vec<Subscriber> {
    let mut seen = std::collections::HashSet::new();
    by_campaign
        .into_iter()
        .chain(by_owner)
        .filter(|s| {
            s.owner_id == campaign.owner_id
                && !s.is_campaign_marker()
                && seen.insert(s.connection_id.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::Settings;
    use crate::domain::{CampaignConfig, Mode};
    use crate::net::AddressPolicy;
    use crate::store::Connection;

    async fn subscribed(state: &AppState, id: &str, owner: &str, topic: Topic) {
        let now = Utc::now();
        let conn = Connection {
            connection_id: id.into(),
            owner_id: owner.into(),
            connected_at: now,
            expires_at: now.timestamp() + 3600,
            topics: Vec::new(),
        };
        assert!(state.ws.connect(&conn, 10, now.timestamp()).await.unwrap());
        let until = now.timestamp() + 3600;
        state
            .ws
            .subscribe(id, owner, &topic, until, 100)
            .await
            .unwrap();
    }

    fn campaign(owner: &str) -> Campaign {
        let (id, config) = (uuid::Uuid::new_v4(), CampaignConfig::default());
        Campaign::new(
            id,
            owner,
            "c".into(),
            Mode::FullSequence,
            config,
            "corr".into(),
            Utc::now(),
        )
    }

    fn ids(subs: &[Subscriber]) -> Vec<&str> {
        subs.iter().map(|s| s.connection_id.as_str()).collect()
    }

    #[tokio::test]
    async fn an_owner_topic_is_read_once_per_batch_and_only_for_its_owner() {
        let (state, memory) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
        let (a, b, other) = (campaign("ann"), campaign("ann"), campaign("bob"));
        subscribed(&state, "ann-all", "ann", Topic::Owner("ann".into())).await;
        subscribed(&state, "ann-a", "ann", Topic::Campaign(a.id)).await;
        subscribed(&state, "bob-all", "bob", Topic::Owner("bob".into())).await;
        let reads = || memory.subscriber_reads.load(Ordering::Relaxed);

        let batch = BatchSubscribers::default();
        let before = reads();
        assert_eq!(
            ids(&batch.of(&state, &a).await.unwrap()),
            ["ann-a", "ann-all"]
        );
        assert_eq!(ids(&batch.of(&state, &b).await.unwrap()), ["ann-all"]);
        assert_eq!(ids(&batch.of(&state, &other).await.unwrap()), ["bob-all"]);
        // Two owner topics (ann's once for both of her campaigns); ann's two campaign topics (her
        // topic holds ann-a's marker), not bob's (no marker in his).
        assert_eq!(reads() - before, 4);

        // A new batch reads again: a subscription made since is seen.
        subscribed(&state, "ann-new", "ann", Topic::Owner("ann".into())).await;
        let next = BatchSubscribers::default();
        let mut got = ids(&next.of(&state, &b).await.unwrap()).join(",");
        got = got.replace("ann-new,ann-all", "ann-all,ann-new");
        assert_eq!(got, "ann-all,ann-new");

        // ann-a gone: its marker too, so ann's campaign topics are no longer read.
        state.ws.forget("ann-a", &[]).await.unwrap();
        let last = BatchSubscribers::default();
        let before = reads();
        assert_eq!(last.of(&state, &a).await.unwrap().len(), 2);
        assert_eq!(reads() - before, 1);
    }

    #[tokio::test]
    async fn a_campaign_subscription_made_after_the_marker_check_is_found_by_the_next_batch() {
        let (state, _) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
        let c = campaign("ann");
        subscribed(&state, "ann-all", "ann", Topic::Owner("ann".into())).await;
        assert_eq!(
            ids(&BatchSubscribers::default().of(&state, &c).await.unwrap()),
            ["ann-all"]
        );
        subscribed(&state, "ann-c", "ann", Topic::Campaign(c.id)).await;
        let got = BatchSubscribers::default().of(&state, &c).await.unwrap();
        assert_eq!(ids(&got), ["ann-c", "ann-all"]);
    }
}
