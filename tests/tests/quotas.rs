//! Per-user quotas (API.md "Limits") on the local stack, at their default values: active
//! campaigns (20), domains per UTC day (2,000,000), WebSocket connections (10), subscriptions per
//! connection (100). Each test uses a fresh user, so it owns its counters.

use std::time::Duration;

use integration_tests::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

async fn control(c: &Client, id: &str, action: &str) -> Reply {
    c.post(
        &format!("/campaigns/{id}/phases/discovery/{action}"),
        &json!({}),
    )
    .await
}

/// A campaign body whose pattern can produce `n` (up to 3.3 million) domains.
fn big(mode: &str, n: u64) -> Value {
    let mut body = campaign_body(mode, n);
    body["config"]["discovery"]["variableLength"] = json!(4);
    body
}

fn quota_problem(r: &Reply) -> (String, String) {
    let d = &r.body["error"]["details"][0];
    (
        d["field"].as_str().unwrap_or_default().to_string(),
        d["problem"].as_str().unwrap_or_default().to_string(),
    )
}

async fn paused_campaign(c: &Client) -> String {
    let id = c
        .create_campaign(&campaign_body("step_by_step", 50_000))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    control(c, &id, "start").await.expect(202);
    control(c, &id, "pause").await.expect(202);
    id
}

#[tokio::test]
async fn active_campaigns_are_capped_and_released() {
    let c = Client::new_user().await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(paused_campaign(&c).await);
    }
    let extra = c.create_campaign(&campaign_body("step_by_step", 10)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = control(&c, &extra, "start")
        .await
        .expect_error(429, "QUOTA_EXCEEDED");
    assert_eq!(
        quota_problem(&r),
        ("quota.activeCampaigns".into(), "20 of 20 in use".into())
    );
    assert!(
        r.header("retry-after").is_none(),
        "no reset time for this quota"
    );
    // mode → Full Auto would queue an auto-start: refused the same way, nothing changes
    c.put(
        &format!("/campaigns/{extra}/mode"),
        &json!({"mode": "full_sequence"}),
    )
    .await
    .expect_error(429, "QUOTA_EXCEEDED");
    let s = c.get(&format!("/campaigns/{extra}")).await.expect(200).body;
    assert_eq!(s["mode"], "step_by_step");
    // a Full Auto create over the quota is still created, its auto-start failed
    let r = c
        .post("/campaigns", &campaign_body("full_sequence", 10))
        .await
        .expect(201);
    assert_eq!(r.body["autoStart"]["status"], "failed");
    assert_eq!(r.body["autoStart"]["error"]["code"], "QUOTA_EXCEEDED");
    // resuming a paused campaign needs no new slot
    control(&c, &ids[0], "resume").await.expect(202);
    control(&c, &ids[0], "pause").await.expect(202);
    // stopping one releases its slot
    control(&c, &ids[1], "stop").await.expect(202);
    control(&c, &extra, "start").await.expect(202);
    control(&c, &ids[2], "start")
        .await
        .expect_error(409, "PHASE_ALREADY_RUNNING");
}

#[tokio::test]
async fn domains_per_day_are_counted_at_each_start_with_retry_after() {
    let c = Client::new_user().await;
    let id = c.create_campaign(&big("step_by_step", 1_000_000)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        control(&c, &id, "start").await.expect(202);
        control(&c, &id, "stop").await.expect(202);
    }
    let r = control(&c, &id, "start")
        .await
        .expect_error(429, "QUOTA_EXCEEDED");
    let (field, problem) = quota_problem(&r);
    assert_eq!(field, "quota.domainsPerDay");
    assert!(problem.starts_with("2000000 of 2000000"), "{problem}");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(
        (1..=86_400).contains(&retry),
        "until the next UTC midnight: {retry}"
    );
    // a Full Auto campaign over the daily quota: its auto-start fails visibly
    let full = c
        .post("/campaigns", &campaign_body("full_sequence", 10))
        .await
        .expect(201)
        .body;
    let fid = full["id"].as_str().unwrap();
    let s = c
        .wait_status(fid, WAIT, |s| s["autoStart"]["status"] != "queued")
        .await;
    assert_eq!(s["autoStart"]["status"], "failed");
    assert_eq!(s["autoStart"]["error"]["code"], "QUOTA_EXCEEDED");
    assert_eq!(
        s["autoStart"]["error"]["details"][0]["field"],
        "quota.domainsPerDay"
    );
}

/// A start refused by a quota is a cancelled transaction (the campaign's write and the
/// counter's): nothing of it may reach the campaigns table's stream, and the stream consumers
/// must go on reading it. On moto, a cancelled transaction used to put its writes on the stream
/// and then swap the table for a copy, whose new writes the consumers never saw (no more events,
/// no next chunk for any campaign) — see scripts/moto_server.py.
#[tokio::test]
async fn a_refused_start_leaves_no_trace_and_the_stream_flows_on() {
    let c = Client::new_user().await;
    let id = c.create_campaign(&big("step_by_step", 1_000_000)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = Socket::connect(&c).await;
    assert_eq!(ws.subscribe(&id).await["type"], "subscribed");
    for _ in 0..2 {
        control(&c, &id, "start").await.expect(202);
        control(&c, &id, "stop").await.expect(202);
    }
    let refused = control(&c, &id, "start")
        .await
        .expect_error(429, "QUOTA_EXCEEDED");
    assert_eq!(quota_problem(&refused).0, "quota.domainsPerDay");
    let s = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(phase(&s, "discovery")["status"], "stopped", "{s}");

    // A write after the refused one reaches the subscriber, and nothing between says the
    // refused start happened (every phase_started is one of the two accepted starts).
    c.delete(&format!("/campaigns/{id}")).await.expect(204);
    let events = ws
        .events_until(&id, WAIT, |e| e["type"] == "campaign_deleted")
        .await;
    let mut started: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] == "phase_started")
        .filter_map(|e| e["version"].as_u64())
        .collect();
    started.sort_unstable();
    started.dedup();
    assert_eq!(started.len(), 2, "phase_started versions {started:?}");

    // The dispatcher still follows the stream: another user's discovery runs all its chunks.
    let other = Client::new_user().await;
    let n = 5_000;
    let oid = other
        .create_campaign(&campaign_body("step_by_step", n))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    control(&other, &oid, "start").await.expect(202);
    let done = other
        .wait_status(&oid, WAIT, |s| {
            phase(s, "discovery")["status"] == "completed"
        })
        .await;
    assert_eq!(phase(&done, "discovery")["progress"]["done"], n);
}

#[tokio::test]
async fn websocket_connections_are_capped_per_user() {
    let c = Client::new_user().await;
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(Socket::connect(&c).await);
    }
    let refused = Socket::open(c.token.as_deref()).await.err();
    assert_eq!(refused, Some(429), "the 11th connection is refused");
    // another user is not affected
    let other = Client::new_user().await;
    Socket::connect(&other).await;
    // a clean close frees a slot
    sockets.pop().unwrap().close().await;
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(s) = Socket::open(c.token.as_deref()).await {
            reopened = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a slot was freed by the close");
}

#[tokio::test]
async fn subscriptions_are_capped_per_connection() {
    let c = Client::new_user().await;
    let mut socket = Socket::connect(&c).await;
    let mut ids: Vec<String> = Vec::new();
    for _ in 0..101 {
        let body = c.create_campaign(&campaign_body("step_by_step", 1)).await;
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    for id in &ids[..100] {
        let answer: Value = socket.subscribe(id).await;
        assert_eq!(answer["type"], "subscribed", "{answer}");
    }
    let answer = socket.subscribe(&ids[0]).await;
    assert_eq!(
        answer["type"], "subscribed",
        "a repeat of a subscription is fine"
    );
    let answer = socket.subscribe(&ids[100]).await;
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["code"], "QUOTA_EXCEEDED");
    socket
        .request(&json!({"action": "unsubscribe", "campaignId": ids[0]}))
        .await;
    let answer = socket.subscribe(&ids[100]).await;
    assert_eq!(answer["type"], "subscribed", "{answer}");
}

/// Connections whose socket is gone but whose `$disconnect` never ran (API Gateway runs it
/// best-effort) would hold the user's slots until their 2-hour TTL: at the limit, `$connect`
/// asks the Management API which are gone and gives their slots back (decision 49).
#[tokio::test]
async fn websocket_slots_held_by_gone_connections_come_back() {
    let c = Client::new_user().await;
    let table = std::env::var("CONNECTIONS_TABLE")
        .unwrap_or_else(|_| "campaign-autostart-connections".into());
    // Connected two minutes ago: past the handshake's grace (CONNECT_SETTLE_SECONDS).
    let now = chrono::Utc::now();
    let then = now - chrono::Duration::seconds(120);
    let ids: Vec<String> = (0..10).map(|i| format!("phantom-{i}-{}", c.user)).collect();
    for id in &ids {
        dynamodb(
            "PutItem",
            &json!({"TableName": table, "Item": {
                "connectionId": {"S": id}, "ownerId": {"S": c.user},
                "connectedAt": {"S": then.to_rfc3339()},
                "expiresAt": {"N": (now.timestamp() + 7200).to_string()},
            }}),
        )
        .await;
    }
    dynamodb(
        "PutItem",
        &json!({"TableName": table, "Item": {
            "connectionId": {"S": format!("owner#{}", c.user)}, "conns": {"SS": ids},
        }}),
    )
    .await;
    // The local Management API knows none of them: every one is gone.
    let mut socket = Socket::connect(&c).await;
    let answer = socket.subscribe("*").await;
    assert_eq!(answer["type"], "subscribed", "{answer}");
    let gone = dynamodb(
        "GetItem",
        &json!({"TableName": table, "Key": {"connectionId": {"S": ids[0]}}, "ConsistentRead": true}),
    )
    .await;
    assert!(gone.get("Item").is_none(), "forgotten: {gone}");
    // The freed slots are real: nine more connections fit, the eleventh does not.
    let mut sockets = Vec::new();
    for _ in 0..9 {
        sockets.push(Socket::connect(&c).await);
    }
    assert_eq!(Socket::open(c.token.as_deref()).await.err(), Some(429));
}
