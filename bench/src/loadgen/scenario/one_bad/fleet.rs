//! The subscribers of `one-bad-connection`: users with one socket fewer each than the stack
//! allows one user (`QUOTA_WS_CONNECTIONS`), every socket subscribed to `*` (all of its user's
//! campaigns). The slot left free is for a retry after a `$connect` that timed out on a busy
//! moto but was applied: its connection item holds a slot until its TTL (the handshake was
//! refused, so no socket will ever close it), and without the spare slot the user's last socket
//! would be refused with 429. The bad connection is user 0's first socket: it is opened and
//! subscribed alone, so the subscriptions table's `owner#<user>` topic holds exactly its
//! connection id, which the fault rule then targets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::loadgen::api::Api;
use crate::loadgen::socket::{Conn, EventLog};

/// One socket and what it received.
pub struct Subscriber {
    pub user: usize,
    pub bad: bool,
    pub log: Arc<EventLog>,
    pub conn: Option<Conn>,
}

/// Every user and socket of the scenario.
pub struct Fleet {
    pub users: Vec<Api>,
    /// Sockets per user (the last user may have fewer).
    pub per_user: usize,
    pub subs: Vec<Subscriber>,
    /// The bad connection's id (user 0's first socket).
    pub bad_connection: String,
    pub connect_seconds: f64,
}

/// Opens a socket and subscribes it to `*`.
async fn subscribed(api: &Api, number: u32) -> Result<(Conn, Arc<EventLog>), String> {
    let log = EventLog::new();
    let mut conn = Conn::open(&api.token, log.clone(), number).await?;
    match conn
        .request(&json!({"action": "subscribe", "campaignId": "*"}))
        .await
    {
        Ok(a) if a["type"] == "subscribed" => Ok((conn, log)),
        other => {
            // A clean close: its `$disconnect` frees the user's slot for the retry.
            conn.close().await;
            Err(format!("subscribe *: {other:?}"))
        }
    }
}

/// The connection ids subscribed to every campaign of `user` (the `owner#<user>` topic).
async fn owner_subscribers(sdk: &aws_config::SdkConfig, user: &str) -> Result<Vec<String>, String> {
    let table = std::env::var("SUBSCRIPTIONS_TABLE")
        .unwrap_or_else(|_| "campaign-autostart-subscriptions".into());
    let out = aws_sdk_dynamodb::Client::new(sdk)
        .query()
        .table_name(&table)
        .key_condition_expression("topic = :t")
        .expression_attribute_values(":t", AttributeValue::S(format!("owner#{user}")))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| {
            format!(
                "Query {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
    Ok(out
        .items
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get("connectionId")?.as_s().ok().cloned())
        .collect())
}

/// Creates the users and opens `subscribers` sockets, `quota − 1` per user, 10 at a time.
pub async fn connect(
    http: &reqwest::Client,
    sdk: &aws_config::SdkConfig,
    subscribers: usize,
    quota: usize,
    until: Instant,
) -> Result<Fleet, String> {
    let started = Instant::now();
    let per_user = quota.saturating_sub(1).max(1);
    let user_count = subscribers.div_ceil(per_user);
    let users: Vec<Api> = futures_util::stream::iter(0..user_count)
        .map(|_| Api::new_user(http, until))
        .buffered(20)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    // The bad connection first, alone on its topic.
    let (conn, log) = subscribed(&users[0], 0).await?;
    let ids = owner_subscribers(sdk, &users[0].user).await?;
    let [bad_connection] = ids.as_slice() else {
        return Err(format!(
            "expected one connection subscribed to user 0's campaigns, found {ids:?}"
        ));
    };
    let mut subs = vec![Subscriber {
        user: 0,
        bad: true,
        log,
        conn: Some(conn),
    }];

    let rest: Vec<(usize, u32)> = (1..subscribers)
        .map(|i| (i / per_user, (i % per_user) as u32))
        .collect();
    let opened = futures_util::stream::iter(rest)
        .map(|(user, number)| {
            let api = users[user].clone();
            async move {
                let mut last = String::new();
                for attempt in 1..=5 {
                    match subscribed(&api, number).await {
                        Ok(s) => return Ok((user, s)),
                        Err(e) => last = e,
                    }
                    if Instant::now() >= until {
                        break;
                    }
                    tokio::time::sleep(crate::loadgen::backoff(attempt)).await;
                }
                Err(format!("user {user}, socket {number}: {last}"))
            }
        })
        .buffer_unordered(10)
        .collect::<Vec<_>>()
        .await;
    for o in opened {
        let (user, (conn, log)) = o?;
        subs.push(Subscriber {
            user,
            bad: false,
            log,
            conn: Some(conn),
        });
    }
    Ok(Fleet {
        users,
        per_user,
        subs,
        bad_connection: bad_connection.clone(),
        connect_seconds: started.elapsed().as_secs_f64(),
    })
}

impl Fleet {
    /// Sockets the server closed (or that broke) since they were opened.
    pub fn closed(&self) -> usize {
        self.subs
            .iter()
            .filter(|s| s.conn.as_ref().is_none_or(Conn::is_closed))
            .count()
    }

    /// Closes every socket cleanly (close frame, so `$disconnect` frees the user's slots).
    pub async fn close(&mut self) {
        let conns: Vec<Conn> = self.subs.iter_mut().filter_map(|s| s.conn.take()).collect();
        futures_util::stream::iter(conns)
            .map(Conn::close)
            .buffer_unordered(50)
            .collect::<Vec<_>>()
            .await;
    }
}

/// The local gateway's connection fault rule on one connection.
pub struct FaultRule {
    http: reqwest::Client,
    url: String,
}

impl FaultRule {
    /// Every push to `connection_id` answers 429 `LimitExceededException` until disarmed.
    pub async fn arm(http: &reqwest::Client, connection_id: &str) -> Result<Self, String> {
        let base = integration_tests::api_url();
        let r = http
            .post(format!("{base}/_local/faults"))
            .json(&json!({"connectionId": connection_id, "error": "limitExceeded"}))
            .send()
            .await
            .map_err(|e| format!("POST /_local/faults: {e}"))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let Some(rule) = body["ruleId"].as_u64().filter(|_| status.as_u16() == 201) else {
            return Err(format!("POST /_local/faults: {status} {body}"));
        };
        Ok(Self {
            http: http.clone(),
            url: format!("{base}/_local/faults/{rule}"),
        })
    }

    /// How many pushes it refused so far.
    pub async fn injected(&self) -> Result<u64, String> {
        let r = self
            .http
            .get(&self.url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.url))?;
        let body: Value = r.json().await.map_err(|e| format!("{}: {e}", self.url))?;
        body["injected"]
            .as_u64()
            .ok_or_else(|| format!("GET {}: {body}", self.url))
    }

    pub async fn disarm(&self) -> Result<(), String> {
        let r = self
            .http
            .delete(&self.url)
            .send()
            .await
            .map_err(|e| format!("DELETE {}: {e}", self.url))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("DELETE {}: {}", self.url, r.status()))
        }
    }
}
