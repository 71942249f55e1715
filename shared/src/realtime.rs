//! Real-time use cases (EVENTS.md): the stream publisher (committed change → events → every
//! subscribed connection) and the WebSocket routes (`$connect`, `$disconnect`, `subscribe`,
//! `unsubscribe`, `ping`, `$default`).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;
use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};
use tracing::Instrument;
use uuid::Uuid;

use crate::adapters::ws::{
    CONNECTION_TTL_SECONDS, Connection, Push, PushError, Subscriber, Topic, WsRepo,
};
use crate::config::AppState;
use crate::domain::{Campaign, PhaseName};
use crate::error::AppError;
use crate::events::{EventType, PhaseEvent, derive_events_at};
use crate::lambda::CampaignChange;

impl AppState {
    pub fn ws(&self) -> WsRepo<'_> {
        WsRepo::new(
            &self.ddb,
            &self.settings.connections_table,
            &self.settings.subscriptions_table,
        )
    }
}

/// Pushes to different connections run concurrently, at most this many at a time.
pub const PUSH_CONCURRENCY: usize = 64;

/// At most one `phase_progress` per campaign per this interval (per publisher instance).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Per-instance memory of when a campaign's last progress event was let through. Only progress
/// events are ever skipped; completion, failure and every other event always go out.
#[derive(Debug)]
pub struct ProgressThrottle {
    interval: Duration,
    /// campaign → (when, version of the record whose progress was let through)
    last: Mutex<HashMap<Uuid, (Instant, u64)>>,
}

impl ProgressThrottle {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the progress event of record `version` goes out. The decision sticks to the
    /// record: a retried record whose progress was let through lets it through again, so every
    /// subscriber gets it, not only those reached before the failure.
    pub fn allow(&self, campaign: Uuid, version: u64, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match last.get(&campaign) {
            Some((_, v)) if *v == version => true,
            Some((t, _)) if now.saturating_duration_since(*t) < self.interval => false,
            _ => {
                if last.len() > 10_000 {
                    last.retain(|_, (t, _)| {
                        now.saturating_duration_since(*t) < Duration::from_secs(60)
                    });
                }
                last.insert(campaign, (now, version));
                true
            }
        }
    }

    pub fn forget(&self, campaign: Uuid) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&campaign);
    }
}

/// The stream publisher: one per function instance (it keeps the progress throttle).
#[derive(Debug)]
pub struct Publisher {
    pub push: Push,
    pub throttle: ProgressThrottle,
}

/// What one record's fan-out did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    pub events: usize,
    pub subscribers: usize,
    pub gone: usize,
    pub rejected: usize,
}

enum Delivery {
    Delivered,
    Gone,
    Rejected,
}

impl Publisher {
    pub fn new(push: Push) -> Self {
        Self {
            push,
            throttle: ProgressThrottle::new(PROGRESS_INTERVAL),
        }
    }

    /// One stream batch. Records are grouped by campaign: each campaign's records are published
    /// in order, different campaigns concurrently, so one campaign's slow or failing pushes do
    /// not hold back the others. A failed record stops its campaign's group; the batch reports
    /// the earliest failed record, from which the stream retries (every record before it has
    /// succeeded; records after it that succeeded are sent again, and clients drop what they
    /// already applied). An unreadable record is logged and skipped, as in
    /// [`crate::lambda::stream_batch`].
    pub async fn handle_batch(
        &self,
        state: &AppState,
        event: StreamEvent,
    ) -> DynamoDbEventResponse {
        let runs = crate::lambda::group_by_campaign(&event)
            .into_iter()
            .map(|group| self.publish_group(state, group));
        crate::lambda::run_campaign_groups(runs).await
    }

    /// One campaign's records of a batch, in order; the position and sequence number of the
    /// record that failed, if one did. The subscribers are read once for the group: a connection
    /// that subscribes later read the campaign's status after every record of the batch was
    /// committed, so it has nothing to miss.
    async fn publish_group(
        &self,
        state: &AppState,
        group: Vec<crate::lambda::Positioned>,
    ) -> Option<(usize, Option<String>)> {
        let mut subscribers = None;
        // A progress event that a later record of this batch supersedes (newer progress, or the
        // phase's end) is not pushed: when the publisher falls behind, it catches up with one
        // fan-out per campaign and batch instead of one per record.
        let phase_updates: Vec<Vec<PhaseName>> = group
            .iter()
            .map(|(_, c)| {
                derive_events_at(c.old.as_ref(), c.new.as_ref(), None)
                    .into_iter()
                    .filter(|e| {
                        matches!(
                            e.kind,
                            EventType::PhaseProgress
                                | EventType::PhaseCompleted
                                | EventType::PhaseFailed
                        )
                    })
                    .filter_map(|e| e.phase)
                    .collect()
            })
            .collect();
        for (i, (pos, change)) in group.into_iter().enumerate() {
            let superseded: Vec<PhaseName> =
                phase_updates[i + 1..].iter().flatten().copied().collect();
            let span = crate::lambda::record_span(&change);
            let sequence = change.sequence_number.clone();
            let run = self
                .publish(state, change, &superseded, &mut subscribers)
                .instrument(span.clone());
            let result = AssertUnwindSafe(run).catch_unwind().await;
            let _enter = span.enter();
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "stream record failed; retrying from here");
                    return Some((pos, sequence));
                }
                Err(_) => {
                    tracing::error!("publisher panicked; retrying from here");
                    return Some((pos, sequence));
                }
            }
        }
        None
    }

    /// Publishes the events of one committed change to every subscribed connection of the
    /// campaign's owner. Fails (so the stream retries the record) only on a transient error:
    /// reading the subscribers, or a push that may succeed later. A closed connection (410) is
    /// forgotten, a refused push is logged; neither holds back the others.
    pub async fn handle_change(
        &self,
        state: &AppState,
        change: CampaignChange,
    ) -> Result<FanOut, AppError> {
        self.publish(state, change, &[], &mut None).await
    }

    /// [`Publisher::handle_change`] with the campaign's subscribers read once per batch
    /// (`subscribers`: `None` until needed).
    async fn publish(
        &self,
        state: &AppState,
        change: CampaignChange,
        superseded: &[PhaseName],
        subscribers: &mut Option<Vec<Subscriber>>,
    ) -> Result<FanOut, AppError> {
        let Some(campaign) = change.new.as_ref().or(change.old.as_ref()) else {
            return Ok(FanOut::default());
        };
        let mut events = derive_events_at(
            change.old.as_ref(),
            change.new.as_ref(),
            Some(change.approximate_at),
        );
        events.retain(|e| {
            e.kind != EventType::PhaseProgress || !e.phase.is_some_and(|p| superseded.contains(&p))
        });
        let now = Instant::now();
        let version = events.first().map(|e| e.version).unwrap_or_default();
        if events.iter().any(|e| e.kind == EventType::PhaseProgress)
            && !self.throttle.allow(campaign.id, version, now)
        {
            events.retain(|e| e.kind != EventType::PhaseProgress);
        }
        if events.is_empty() {
            return Ok(FanOut::default());
        }
        let mut lookup_ms = 0;
        if subscribers.is_none() {
            let started = Instant::now();
            *subscribers = Some(subscribers_of(state, campaign).await?);
            lookup_ms = started.elapsed().as_millis() as u64;
        }
        let targets = subscribers.as_mut().map(std::mem::take).unwrap_or_default();
        let payloads: Vec<String> = events.iter().map(PhaseEvent::to_json).collect();
        let mut out = FanOut {
            events: events.len(),
            subscribers: targets.len(),
            ..FanOut::default()
        };
        let payloads = &payloads;
        let deliveries = targets.into_iter().map(|sub| async move {
            let result = self.deliver(state, &sub, payloads).await;
            (sub, result)
        });
        let results: Vec<(Subscriber, Result<Delivery, AppError>)> =
            futures_util::stream::iter(deliveries)
                .buffer_unordered(PUSH_CONCURRENCY)
                .collect()
                .await;
        let mut first_error = None;
        let mut still = Vec::with_capacity(results.len());
        for (sub, r) in results {
            match r {
                Ok(Delivery::Delivered) => still.push(sub),
                Ok(Delivery::Gone) => out.gone += 1,
                Ok(Delivery::Rejected) => {
                    out.rejected += 1;
                    still.push(sub);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                    still.push(sub);
                }
            }
        }
        *subscribers = Some(still);
        if let Some(e) = first_error {
            return Err(e);
        }
        if events.iter().any(|e| {
            matches!(
                e.kind,
                EventType::PhaseCompleted | EventType::PhaseFailed | EventType::CampaignDeleted
            )
        }) {
            self.throttle.forget(campaign.id);
        }
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        // commit (`at`) → this record reached the publisher: the stream's share of the latency
        let lag_ms =
            (Utc::now() - events[0].at).num_milliseconds() - now.elapsed().as_millis() as i64;
        tracing::info!(
            events = ?kinds,
            version = events[0].version,
            lagMs = lag_ms,
            lookupMs = lookup_ms,
            subscribers = out.subscribers,
            gone = out.gone,
            rejected = out.rejected,
            elapsedMs = now.elapsed().as_millis() as u64,
            "events published"
        );
        Ok(out)
    }

    /// Sends the record's events, in order, to one connection.
    async fn deliver(
        &self,
        state: &AppState,
        sub: &Subscriber,
        payloads: &[String],
    ) -> Result<Delivery, AppError> {
        for payload in payloads {
            match self.push.send(&sub.connection_id, payload.as_bytes()).await {
                Ok(()) => {}
                Err(PushError::Gone) => {
                    tracing::info!(connectionId = %sub.connection_id, "connection gone; forgetting it");
                    if let Err(e) = state.ws().forget(&sub.connection_id, &[]).await {
                        // Left to the TTL; the next push finds it gone again.
                        tracing::warn!(connectionId = %sub.connection_id, error = %e, "could not forget a gone connection");
                    }
                    return Ok(Delivery::Gone);
                }
                Err(PushError::Rejected(why)) => {
                    tracing::warn!(connectionId = %sub.connection_id, %why, "push refused; skipping this connection");
                    return Ok(Delivery::Rejected);
                }
                Err(PushError::Transient(e)) => return Err(e),
            }
        }
        Ok(Delivery::Delivered)
    }
}

/// The live connections subscribed to the campaign or to all of its owner's campaigns, once each.
/// A subscription is only honoured for the campaign's owner.
pub async fn subscribers_of(
    state: &AppState,
    campaign: &Campaign,
) -> Result<Vec<Subscriber>, AppError> {
    let now = Utc::now().timestamp();
    let repo = state.ws();
    let by_campaign = Topic::Campaign(campaign.id);
    let by_owner = Topic::Owner(campaign.owner_id.clone());
    let (a, b) = futures_util::future::join(
        repo.subscribers(&by_campaign, now),
        repo.subscribers(&by_owner, now),
    )
    .await;
    let mut seen = std::collections::HashSet::new();
    Ok(a?
        .into_iter()
        .chain(b?)
        .filter(|s| s.owner_id == campaign.owner_id && seen.insert(s.connection_id.clone()))
        .collect())
}

/// `$connect`: records the connection of `owner` (the authorizer's `sub`).
pub async fn connect(
    state: &AppState,
    connection_id: &str,
    owner: &str,
    connected_at: DateTime<Utc>,
) -> Result<(), AppError> {
    if connection_id.is_empty() || owner.is_empty() {
        return Err(AppError::Unauthorized);
    }
    let connection = Connection {
        connection_id: connection_id.to_string(),
        owner_id: owner.to_string(),
        connected_at,
        expires_at: connected_at.timestamp() + CONNECTION_TTL_SECONDS,
        topics: Vec::new(),
    };
    state.ws().put_connection(&connection).await?;
    tracing::info!(connectionId = %connection_id, ownerId = %owner, "connected");
    Ok(())
}

/// `$disconnect`: deletes the connection and its subscriptions.
pub async fn disconnect(state: &AppState, connection_id: &str) -> Result<(), AppError> {
    state.ws().forget(connection_id, &[]).await?;
    tracing::info!(connectionId = %connection_id, "disconnected");
    Ok(())
}

/// A client → server message, once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    Subscribe(Target),
    Unsubscribe(Target),
    Ping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    All,
    Campaign(Uuid),
}

impl Target {
    fn as_json(self) -> Value {
        match self {
            Self::All => json!("*"),
            Self::Campaign(id) => json!(id),
        }
    }

    fn topic(self, owner: &str) -> Topic {
        match self {
            Self::All => Topic::Owner(owner.to_string()),
            Self::Campaign(id) => Topic::Campaign(id),
        }
    }
}

/// Parses a message body; `Err` is the `BAD_REQUEST` message.
pub fn parse_message(body: Option<&str>) -> Result<ClientMessage, String> {
    let value: Value = serde_json::from_str(body.unwrap_or_default())
        .map_err(|_| "the message must be a JSON object".to_string())?;
    let Some(obj) = value.as_object() else {
        return Err("the message must be a JSON object".into());
    };
    let target = || match obj.get("campaignId").and_then(Value::as_str) {
        Some("*") => Ok(Target::All),
        Some(id) => id
            .parse()
            .map(Target::Campaign)
            .map_err(|_| "campaignId must be a campaign id or \"*\"".to_string()),
        None => Err("campaignId is required".to_string()),
    };
    match obj.get("action").and_then(Value::as_str) {
        Some("subscribe") => Ok(ClientMessage::Subscribe(target()?)),
        Some("unsubscribe") => Ok(ClientMessage::Unsubscribe(target()?)),
        Some("ping") => Ok(ClientMessage::Ping),
        Some(other) => Err(format!(
            "unknown action {other:?}; use subscribe, unsubscribe or ping"
        )),
        None => Err("action is required".to_string()),
    }
}

fn error_answer(code: &str, message: impl Into<String>) -> Value {
    json!({"type": "error", "code": code, "message": message.into()})
}

/// Who sent a message.
#[derive(Debug, Clone)]
pub struct Sender<'a> {
    pub connection_id: &'a str,
    /// The authorizer's `sub`, passed by API Gateway with every message of the connection.
    pub owner: Option<&'a str>,
    pub connected_at: DateTime<Utc>,
}

/// Handles a `subscribe`/`unsubscribe`/`ping`/`$default` message and returns the answer to send
/// back (`subscribed`, `unsubscribed`, `pong` or `error`). Never fails: a dependency failure is
/// answered as an `UNAVAILABLE` error, the connection stays open.
pub async fn answer(state: &AppState, sender: &Sender<'_>, body: Option<&str>) -> Value {
    let message = match parse_message(body) {
        Ok(m) => m,
        Err(why) => return error_answer("BAD_REQUEST", why),
    };
    match handle(state, sender, message).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(connectionId = %sender.connection_id, error = %e, "message failed");
            error_answer(e.code(), e.public_message())
        }
    }
}

async fn handle(
    state: &AppState,
    sender: &Sender<'_>,
    message: ClientMessage,
) -> Result<Value, AppError> {
    if message == ClientMessage::Ping {
        return Ok(json!({"type": "pong"}));
    }
    let owner = match sender.owner.filter(|o| !o.is_empty()) {
        Some(o) => o.to_string(),
        None => state
            .ws()
            .get_connection(sender.connection_id)
            .await?
            .map(|c| c.owner_id)
            .ok_or(AppError::Unauthorized)?,
    };
    let repo = state.ws();
    match message {
        ClientMessage::Ping => Ok(json!({"type": "pong"})),
        ClientMessage::Unsubscribe(target) => {
            repo.unsubscribe(sender.connection_id, &target.topic(&owner))
                .await?;
            Ok(json!({"type": "unsubscribed", "campaignId": target.as_json()}))
        }
        ClientMessage::Subscribe(target) => {
            let topic = target.topic(&owner);
            let expires_at = sender.connected_at.timestamp() + CONNECTION_TTL_SECONDS;
            // Subscribe first, then read: every change committed after the status read is
            // published to this subscription, so the client misses nothing in between.
            if !repo
                .subscribe(sender.connection_id, &owner, &topic, expires_at)
                .await?
            {
                tracing::warn!(connectionId = %sender.connection_id, "subscribe on a connection without a connection item");
            }
            match target {
                Target::All => Ok(json!({"type": "subscribed", "campaignId": "*"})),
                Target::Campaign(id) => match state.campaigns().get(id).await? {
                    Some(c) if c.owner_id == owner => Ok(
                        json!({"type": "subscribed", "campaignId": id, "status": c.status_view()}),
                    ),
                    _ => {
                        repo.unsubscribe(sender.connection_id, &topic).await?;
                        Ok(error_answer("NOT_FOUND", "campaign not found"))
                    }
                },
            }
        }
    }
}

/// Sends an answer to the connection that asked; a connection that is already gone is fine.
pub async fn reply(push: &Push, connection_id: &str, answer: &Value) -> Result<(), AppError> {
    match push
        .send(connection_id, answer.to_string().as_bytes())
        .await
    {
        Ok(()) | Err(PushError::Gone) => Ok(()),
        Err(PushError::Rejected(why)) => {
            tracing::warn!(connectionId = %connection_id, %why, "answer refused");
            Ok(())
        }
        Err(PushError::Transient(e)) => Err(e),
    }
}

/// The parts of an API Gateway WebSocket event the routes need.
pub mod ws_event {
    use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
    use chrono::{DateTime, Utc};

    use super::Sender;

    pub fn connection_id(event: &ApiGatewayWebsocketProxyRequest) -> &str {
        event
            .request_context
            .connection_id
            .as_deref()
            .unwrap_or_default()
    }

    /// The authorizer context's `sub` (set by the `$connect` authorizer, passed with every route).
    pub fn owner(event: &ApiGatewayWebsocketProxyRequest) -> Option<&str> {
        event
            .request_context
            .authorizer
            .fields
            .get("sub")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    }

    pub fn connected_at(event: &ApiGatewayWebsocketProxyRequest) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(event.request_context.connected_at)
            .filter(|t| t.timestamp() > 0)
            .unwrap_or_else(Utc::now)
    }

    pub fn sender(event: &ApiGatewayWebsocketProxyRequest) -> Sender<'_> {
        Sender {
            connection_id: connection_id(event),
            owner: owner(event),
            connected_at: connected_at(event),
        }
    }

    /// The integration response: only its status matters (a non-2xx `$connect` refuses the
    /// connection).
    pub fn response(status: u16) -> ApiGatewayProxyResponse {
        let mut r = ApiGatewayProxyResponse::default();
        r.status_code = i64::from(status);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_or_explain() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse_message(Some(&format!(
                r#"{{"action":"subscribe","campaignId":"{id}"}}"#
            ))),
            Ok(ClientMessage::Subscribe(Target::Campaign(id)))
        );
        assert_eq!(
            parse_message(Some(r#"{"action":"subscribe","campaignId":"*"}"#)),
            Ok(ClientMessage::Subscribe(Target::All))
        );
        assert_eq!(
            parse_message(Some(r#"{"action":"unsubscribe","campaignId":"*"}"#)),
            Ok(ClientMessage::Unsubscribe(Target::All))
        );
        assert_eq!(
            parse_message(Some(r#"{"action":"ping"}"#)),
            Ok(ClientMessage::Ping)
        );
        for bad in [
            None,
            Some(""),
            Some("nope"),
            Some("[1]"),
            Some(r#"{"campaignId":"*"}"#),
            Some(r#"{"action":"subscribe"}"#),
            Some(r#"{"action":"subscribe","campaignId":"not-a-uuid"}"#),
            Some(r#"{"action":"subscribe","campaignId":7}"#),
            Some(r#"{"action":"dance"}"#),
        ] {
            assert!(parse_message(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn throttle_lets_one_progress_through_per_interval_and_sticks_to_its_record() {
        let t = ProgressThrottle::new(Duration::from_millis(250));
        let id = Uuid::new_v4();
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        assert!(t.allow(id, 3, start));
        assert!(!t.allow(id, 4, ms(100)));
        assert!(
            t.allow(id, 3, ms(120)),
            "a retry of the record that went out goes out again"
        );
        assert!(t.allow(Uuid::new_v4(), 4, ms(100)), "per campaign");
        assert!(!t.allow(id, 5, ms(249)));
        assert!(t.allow(id, 6, ms(250)));
        t.forget(id);
        assert!(t.allow(id, 7, ms(251)));
    }

    /// The sample events in `events/` (also for `sam local invoke`) carry what the routes read.
    #[test]
    fn websocket_fixtures_carry_the_connection_and_the_authorizer_sub() {
        use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
        let fixture = |name: &str| -> ApiGatewayWebsocketProxyRequest {
            let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
        };
        for name in [
            "ws-connect.json",
            "ws-message-subscribe.json",
            "ws-disconnect.json",
        ] {
            let e = fixture(name);
            let sender = ws_event::sender(&e);
            assert_eq!(sender.connection_id, "Vq3xYcE2IAMCJfA=", "{name}");
            assert_eq!(
                sender.owner,
                Some("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"),
                "{name}"
            );
            assert_eq!(
                sender.connected_at.timestamp_millis(),
                1_795_600_798_000,
                "{name}"
            );
        }
        let e = fixture("ws-message-subscribe.json");
        let id: Uuid = "3f2b8c1e-7a4d-4e2b-9c6f-1d2e3f4a5b6c".parse().unwrap();
        assert_eq!(
            parse_message(e.body.as_deref()),
            Ok(ClientMessage::Subscribe(Target::Campaign(id)))
        );
        assert_eq!(ws_event::response(200).status_code, 200);
    }

    #[test]
    fn topics_are_keyed_by_campaign_or_owner() {
        let id = Uuid::nil();
        assert_eq!(
            Target::Campaign(id).topic("u").key(),
            format!("campaign#{id}")
        );
        assert_eq!(Target::All.topic("u-1").key(), "owner#u-1");
    }
}
