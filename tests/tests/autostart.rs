//! The auto-start pipeline (BEHAVIOUR.md "Modes and auto-start", "Invariants", "Phase execution")
//! on the running local stack: SQS, the worker, retries with backoff, the DLQ, idempotency and
//! resumable discovery.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn discovery_status(s: &Value) -> String {
    phase(s, "discovery")["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn assert_exact_domains(c: &Client, id: &str, n: usize) {
    let domains = c.all_domains(id).await;
    assert_eq!(domains.len(), n, "exactly numDomains domains");
    assert_eq!(
        domains.iter().collect::<HashSet<_>>().len(),
        n,
        "no duplicate domain"
    );
}

#[tokio::test]
async fn full_sequence_starts_discovery_by_itself_and_completes_exactly() {
    let c = Client::new_user().await;
    let n = 30_000;
    let created = c.create_campaign(&campaign_body("full_sequence", n)).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["autoStart"]["status"], "queued");
    assert_eq!(created["autoStart"]["phase"], "discovery");
    assert!(created["autoStart"]["requestedAt"].is_string());
    // while discovery runs, the auto-start request shows how it started
    let running = c
        .wait_status(id, WAIT, |s| s["autoStart"]["status"] != "queued")
        .await;
    let auto = &running["autoStart"];
    assert_eq!(
        (auto["phase"].as_str(), auto["status"].as_str()),
        (Some("discovery"), Some("started")),
        "{running}"
    );
    assert_eq!(auto["attempts"], 1);
    assert!(auto["latencyMs"].as_i64().unwrap() >= 0);
    assert!(auto["startedAt"].is_string());
    let done = settled(&c, id).await;
    let d = phase(&done, "discovery");
    assert_eq!(d["trigger"], "auto");
    assert_eq!(d["progress"], json!({"done": n, "total": n}));
    assert_exact_domains(&c, id, n as usize).await;
    // versions: create, start, one per chunk (1000 per chunk), the auto-advance request's failure
    // (no DNS persona) — no extra write from anywhere
    assert_eq!(done["version"], 2 + n.div_ceil(1000) + 1);
}

#[tokio::test]
async fn manual_mode_never_starts_by_itself() {
    let c = Client::new_user().await;
    let id = c.create_campaign(&campaign_body("step_by_step", 50)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let s = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(discovery_status(&s), "not_started");
    assert_eq!(s["autoStart"]["status"], "not_requested");
    assert_eq!(s["version"], 1);
}

#[tokio::test]
async fn the_seed_three_call_client_flow_never_double_starts() {
    for _ in 0..3 {
        let c = Client::new_user().await;
        let id = c
            .create_campaign(&campaign_body("step_by_step", 1500))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        c.put(
            &format!("/campaigns/{id}/mode"),
            &json!({"mode": "full_sequence"}),
        )
        .await
        .expect(200);
        let start = c
            .post(
                &format!("/campaigns/{id}/phases/discovery/start"),
                &json!({}),
            )
            .await;
        match start.status.as_u16() {
            202 => {}
            409 => assert!(
                matches!(
                    start.code(),
                    "PHASE_ALREADY_RUNNING" | "PHASE_ALREADY_COMPLETED"
                ),
                "{}",
                start.body
            ),
            s => panic!("unexpected {s}: {}", start.body),
        }
        let done = settled(&c, &id).await;
        let trigger = phase(&done, "discovery")["trigger"]
            .as_str()
            .unwrap()
            .to_string();
        // exactly one start: the worker's, or the client's (and then the worker skipped)
        let expected_trigger = if start.status.as_u16() == 202 {
            "manual"
        } else {
            "auto"
        };
        assert_eq!(trigger, expected_trigger, "{done}");
        assert_exact_domains(&c, &id, 1500).await;
        // create, mode, start (a manual start marks the queued request skipped in the same
        // write), 2 chunks, the validation request's failure
        assert_eq!(done["version"], 6, "{done}");
    }
}

#[tokio::test]
async fn invalid_config_fails_permanently_without_retries_and_manual_start_recovers() {
    let c = Client::new_user().await;
    // a draft without discovery config, in Full Auto
    let id = c
        .post(
            "/campaigns",
            &json!({"name": "draft", "mode": "full_sequence"}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = c
        .wait_status(&id, WAIT, |s| s["autoStart"]["status"] == "failed")
        .await;
    let err = &s["autoStart"]["error"];
    assert_eq!(err["code"], "INVALID_CONFIG");
    assert_eq!(err["details"][0]["field"], "config.discovery");
    assert_eq!(
        s["autoStart"]["attempts"], 1,
        "a permanent failure is not retried"
    );
    assert_eq!(discovery_status(&s), "not_started");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let later = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(later["version"], s["version"], "nothing retried it");
    // fix and start by hand
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"discovery": discovery(40)}),
    )
    .await
    .expect(200);
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, WAIT, |s| discovery_status(s) == "completed")
        .await;
    assert_exact_domains(&c, &id, 40).await;
}

#[tokio::test]
async fn a_disabled_proxy_fails_the_auto_start_and_enabling_it_allows_a_manual_start() {
    let c = Client::new_user().await;
    let proxy = c
        .post(
            "/proxies",
            &json!({"address": "http://127.0.0.1:8888", "enabled": false}),
        )
        .await
        .expect(201)
        .body;
    let pid = proxy["id"].as_str().unwrap();
    let persona = c
        .post(
            "/personas",
            &json!({"name": "p", "kind": "http", "enabled": false, "config": {"userAgent": "ua"}}),
        )
        .await
        .expect(201)
        .body;
    let personaid = persona["id"].as_str().unwrap();
    let mut body = campaign_body("full_sequence", 30);
    body["config"]["proxyIds"] = json!([pid]);
    body["config"]["personaIds"] = json!([personaid]);
    let id = c.create_campaign(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = c
        .wait_status(&id, WAIT, |s| s["autoStart"]["status"] == "failed")
        .await;
    let fields: Vec<&str> = s["autoStart"]["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["config.personaIds[0]", "config.proxyIds[0]"]);
    assert_eq!(discovery_status(&s), "not_started");
    // a manual start is refused the same way until they are enabled
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect_error(422, "INVALID_CONFIG");
    c.patch(&format!("/proxies/{pid}"), &json!({"enabled": true}))
        .await
        .expect(200);
    c.patch(&format!("/personas/{personaid}"), &json!({"enabled": true}))
        .await
        .expect(200);
    let r = c
        .post(
            &format!("/campaigns/{id}/phases/discovery/start"),
            &json!({}),
        )
        .await
        .expect(202);
    assert_eq!(phase(&r.body, "discovery")["trigger"], "manual");
    c.wait_status(&id, WAIT, |s| discovery_status(s) == "completed")
        .await;
}

/// Creates a Manual campaign, arms a fault for it, then switches it to Full Auto. Returns the
/// campaign id and the fault rule id.
async fn full_auto_with_fault(c: &Client, n: u64, fault: Value) -> (String, u64) {
    let id = c.create_campaign(&campaign_body("step_by_step", n)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut rule = fault;
    rule["campaignId"] = json!(id);
    let rule_id = arm_fault(&rule).await;
    c.put(
        &format!("/campaigns/{id}/mode"),
        &json!({"mode": "full_sequence"}),
    )
    .await
    .expect(200);
    (id, rule_id)
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff_then_succeed() {
    let c = Client::new_user().await;
    let (id, rule) = full_auto_with_fault(
        &c,
        30_000,
        json!({"function": "autostart-worker", "times": 2}),
    )
    .await;
    let s = c
        .wait_status(&id, WAIT, |s| s["autoStart"]["status"] != "queued")
        .await;
    assert!(fault_injected(rule).await >= 2, "the fault fired");
    assert_eq!(s["autoStart"]["phase"], "discovery");
    assert_eq!(s["autoStart"]["status"], "started");
    // Two messages carry the request (the API's fast path and the outbox's): two receives
    // failed, then one succeeded on its second or third receive.
    let attempts = s["autoStart"]["attempts"].as_u64().unwrap();
    assert!((2..=3).contains(&attempts), "{s}");
    settled(&c, &id).await;
    assert_exact_domains(&c, &id, 30_000).await;
}

#[tokio::test]
async fn always_failing_goes_to_the_dlq_and_is_marked_retries_exhausted() {
    let c = Client::new_user().await;
    let (id, rule) = full_auto_with_fault(
        &c,
        20,
        json!({"function": "autostart-worker", "times": 100, "error": "internal"}),
    )
    .await;
    let s = c
        .wait_status(&id, Duration::from_secs(60), |s| {
            s["autoStart"]["status"] == "failed"
        })
        .await;
    assert!(fault_injected(rule).await >= 10, "every receive failed");
    assert_eq!(s["autoStart"]["error"]["code"], "RETRIES_EXHAUSTED");
    assert_eq!(s["autoStart"]["attempts"], 10, "maxReceiveCount");
    assert_eq!(discovery_status(&s), "not_started");
    // the user can still start by hand
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, WAIT, |s| discovery_status(s) == "completed")
        .await;
}

#[tokio::test]
async fn switching_back_to_manual_while_queued_cancels() {
    let c = Client::new_user().await;
    // the first receive of both messages (the API's and the outbox's) fails, so the request is
    // still queued when the user switches back
    let (id, rule) =
        full_auto_with_fault(&c, 20, json!({"function": "autostart-worker", "times": 2})).await;
    let deadline = std::time::Instant::now() + WAIT;
    while fault_injected(rule).await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the fault never fired"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = c
        .put(
            &format!("/campaigns/{id}/mode"),
            &json!({"mode": "step_by_step"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["autoStart"]["status"], "cancelled");
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    let s = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(s["autoStart"]["status"], "cancelled");
    assert_eq!(
        discovery_status(&s),
        "not_started",
        "nothing starts after a cancel"
    );
}

#[tokio::test]
async fn duplicate_and_racing_messages_start_discovery_once() {
    let c = Client::new_user().await;
    let n = 2_500u64;
    let id = c.create_campaign(&campaign_body("step_by_step", n)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .put(
            &format!("/campaigns/{id}/mode"),
            &json!({"mode": "full_sequence"}),
        )
        .await
        .expect(200)
        .body;
    // the API sent one message; send the same message eight more times, at once, as SQS may
    let body = json!({
        "campaignId": id,
        "phase": "discovery",
        "correlationId": r["correlationId"],
        "requestedAt": r["autoStart"]["requestedAt"],
    });
    let sqs = sqs_client().await;
    let url = sqs
        .get_queue_url()
        .queue_name("campaign-autostart-autostart")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let sends = (0..8).map(|_| {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body.to_string())
            .send()
    });
    for res in futures_util::future::join_all(sends).await {
        res.expect("send duplicate");
    }
    let s = settled(&c, &id).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let s2 = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        s["version"], s2["version"],
        "no late write from a duplicate"
    );
    assert_eq!(phase(&s2, "discovery")["trigger"], "auto");
    // create, mode, one start, three chunks, the validation request's failure: duplicates
    // wrote nothing
    assert_eq!(s2["version"], 2 + 1 + n.div_ceil(1000) + 1);
    assert_exact_domains(&c, &id, n as usize).await;
}

#[tokio::test]
async fn a_worker_dying_mid_chunk_resumes_without_gaps_or_duplicates() {
    let c = Client::new_user().await;
    let n = 3_000u64;
    // the chunk's domains are written, then recording its progress fails (as if the worker died)
    let (id, rule) = full_auto_with_fault(
        &c,
        n,
        json!({"function": "phase-worker", "times": 2, "operation": "PutItem", "table": "campaign-autostart-campaigns", "error": "internal"}),
    )
    .await;
    let s = settled(&c, &id).await;
    assert_eq!(
        fault_injected(rule).await,
        2,
        "two progress writes failed after their chunk was written"
    );
    assert_eq!(
        phase(&s, "discovery")["progress"],
        json!({"done": n, "total": n})
    );
    assert_exact_domains(&c, &id, n as usize).await;
    assert_eq!(s["version"], 2 + 1 + n.div_ceil(1000) + 1);
}

/// Waits until a Full Auto campaign without a DNS persona has finished discovery and its
/// auto-advance to validation has failed visibly (pre-start validation: no DNS persona).
async fn settled(c: &Client, id: &str) -> Value {
    let s = c
        .wait_status(id, WAIT, |s| {
            discovery_status(s) == "completed"
                && s["autoStart"]["phase"] == "validation"
                && s["autoStart"]["status"] == "failed"
        })
        .await;
    assert_eq!(s["autoStart"]["error"]["code"], "INVALID_CONFIG");
    assert_eq!(
        s["autoStart"]["error"]["details"][0]["field"],
        "config.personaIds"
    );
    assert_eq!(phase(&s, "validation")["status"], "not_started");
    s
}

async fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}
