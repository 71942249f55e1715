//! The validation phase (DNS resolution through the campaign's DNS persona) and auto-advance,
//! against a real DNS server started by the test on 127.0.0.1.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use integration_tests::dns::{Mode, TestDns};
use integration_tests::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn status_of(s: &Value, name: &str) -> String {
    phase(s, name)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A zone in which every third generated domain resolves.
fn zone(n: usize) -> HashMap<String, Ipv4Addr> {
    generated_domains(n)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(i, d)| (d, Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1)))
        .collect()
}

async fn dns_persona(c: &Client, dns: &TestDns, enabled: bool, timeout_ms: u64) -> String {
    let body = json!({
        "name": "local resolver", "kind": "dns", "enabled": enabled,
        "config": {"resolvers": [dns.addr.to_string()], "timeoutMs": timeout_ms, "concurrency": 32, "rateLimitPerSecond": 5000}
    });
    c.post("/personas", &body).await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn campaign(c: &Client, mode: &str, n: u64, persona: &str) -> String {
    let mut body = campaign_body(mode, n);
    body["config"]["personaIds"] = json!([persona]);
    c.create_campaign(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn listed(c: &Client, id: &str, status: &str) -> Vec<Value> {
    c.all_pages(&format!(
        "/campaigns/{id}/domains?status={status}&limit=1000"
    ))
    .await
}

#[tokio::test]
async fn full_auto_runs_discovery_then_validation_by_itself_with_the_exact_split() {
    let n = 2_400usize;
    let dns = TestDns::start(zone(n), Mode::Answer).await;
    let c = Client::new_user().await;
    let persona = dns_persona(&c, &dns, true, 1000).await;
    let id = campaign(&c, "full_sequence", n as u64, &persona).await;
    let s = c
        .wait_status(&id, WAIT, |s| status_of(s, "validation") == "completed")
        .await;
    let v = phase(&s, "validation");
    assert_eq!(v["trigger"], "auto", "auto-advance started validation");
    assert_eq!(v["autoStart"]["status"], "started");
    let expected_resolved = (0..n).filter(|i| i % 3 == 0).count() as u64;
    assert_eq!(v["progress"], json!({"done": n, "total": n}));
    assert_eq!(
        v["summary"],
        json!({"resolved": expected_resolved, "unresolved": n as u64 - expected_resolved})
    );
    let resolved = listed(&c, &id, "resolved").await;
    let want: HashSet<String> = zone(n).into_keys().collect();
    let got: HashSet<String> = resolved
        .iter()
        .map(|d| d["domain"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want, "exactly the zone's names resolved");
    assert!(resolved.iter().all(|d| {
        d["dns"]["status"] == "resolved"
            && d["dns"]["addresses"]
                .as_array()
                .is_some_and(|a| a.len() == 1)
    }));
    assert_eq!(listed(&c, &id, "unresolved").await.len(), n - want.len());
    assert!(listed(&c, &id, "pending").await.is_empty());
    // plain listing keeps the contract's shape
    let plain = c
        .get(&format!("/campaigns/{id}/domains?limit=3"))
        .await
        .expect(200)
        .body;
    assert!(plain["items"][0].is_string());
}

#[tokio::test]
async fn manual_campaigns_validate_only_on_request_and_in_order() {
    let n = 60usize;
    let dns = TestDns::start(zone(n), Mode::Answer).await;
    let c = Client::new_user().await;
    let persona = dns_persona(&c, &dns, true, 1000).await;
    let id = campaign(&c, "step_by_step", n as u64, &persona).await;
    c.post(
        &format!("/campaigns/{id}/phases/validation/start"),
        &json!({}),
    )
    .await
    .expect_error(409, "PHASE_ORDER");
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, WAIT, |s| status_of(s, "discovery") == "completed")
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let s = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        status_of(&s, "validation"),
        "not_started",
        "Manual never advances by itself"
    );
    assert_eq!(dns.queries.load(std::sync::atomic::Ordering::Relaxed), 0);
    let r = c
        .post(
            &format!("/campaigns/{id}/phases/validation/start"),
            &json!({}),
        )
        .await
        .expect(202);
    assert_eq!(phase(&r.body, "validation")["trigger"], "manual");
    let s = c
        .wait_status(&id, WAIT, |s| status_of(s, "validation") == "completed")
        .await;
    assert_eq!(phase(&s, "validation")["summary"]["resolved"], 20);
    c.post(
        &format!("/campaigns/{id}/phases/validation/start"),
        &json!({}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_COMPLETED");
}

#[tokio::test]
async fn a_resolver_that_times_out_gives_error_statuses_and_the_phase_completes() {
    let n = 80usize;
    let dns = TestDns::start(HashMap::new(), Mode::Silent).await;
    let c = Client::new_user().await;
    let persona = dns_persona(&c, &dns, true, 200).await;
    let id = campaign(&c, "full_sequence", n as u64, &persona).await;
    let s = c
        .wait_status(&id, WAIT, |s| status_of(s, "validation") == "completed")
        .await;
    assert_eq!(phase(&s, "validation")["summary"], json!({"error": n}));
    let errors = listed(&c, &id, "error").await;
    assert_eq!(errors.len(), n, "every domain has a status: nothing lost");
    assert!(
        errors.iter().all(|d| d["dns"]["error"] == "timeout"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn a_disabled_dns_persona_stops_auto_advance_visibly_and_a_manual_start_works_after_the_fix()
{
    let n = 40usize;
    let dns = TestDns::start(zone(n), Mode::Answer).await;
    let c = Client::new_user().await;
    let persona = dns_persona(&c, &dns, true, 1000).await;
    let id = campaign(&c, "step_by_step", n as u64, &persona).await;
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, WAIT, |s| status_of(s, "discovery") == "completed")
        .await;
    // the persona is disabled after discovery, before validation is requested
    c.patch(&format!("/personas/{persona}"), &json!({"enabled": false}))
        .await
        .expect(200);
    // switching to Full Auto now requests the next phase, validation
    let r = c
        .put(
            &format!("/campaigns/{id}/mode"),
            &json!({"mode": "full_sequence"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["autoStart"]["phase"], "validation");
    let s = c
        .wait_status(&id, WAIT, |s| s["autoStart"]["status"] == "failed")
        .await;
    assert_eq!(s["autoStart"]["error"]["code"], "INVALID_CONFIG");
    assert_eq!(
        s["autoStart"]["error"]["details"][0]["field"],
        "config.personaIds[0]"
    );
    assert_eq!(status_of(&s, "validation"), "not_started");
    c.post(
        &format!("/campaigns/{id}/phases/validation/start"),
        &json!({}),
    )
    .await
    .expect_error(422, "INVALID_CONFIG");
    c.patch(&format!("/personas/{persona}"), &json!({"enabled": true}))
        .await
        .expect(200);
    c.post(
        &format!("/campaigns/{id}/phases/validation/start"),
        &json!({}),
    )
    .await
    .expect(202);
    let s = c
        .wait_status(&id, WAIT, |s| status_of(s, "validation") == "completed")
        .await;
    assert_eq!(phase(&s, "validation")["summary"]["resolved"], 14);
}

#[tokio::test]
async fn validation_needs_a_dns_persona() {
    let c = Client::new_user().await;
    let http = c
        .post(
            "/personas",
            &json!({"name": "web", "kind": "http", "config": {"userAgent": "ua"}}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let id = campaign(&c, "step_by_step", 10, &http).await;
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, WAIT, |s| status_of(s, "discovery") == "completed")
        .await;
    let r = c
        .post(
            &format!("/campaigns/{id}/phases/validation/start"),
            &json!({}),
        )
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(r.body["error"]["details"][0]["field"], "config.personaIds");
    // a dns persona's config is checked when it is created
    let bad = c
        .post(
            "/personas",
            &json!({"name": "d", "kind": "dns", "config": {"resolvers": ["not-an-address"]}}),
        )
        .await;
    let bad = bad.expect_error(422, "INVALID_CONFIG");
    assert_eq!(
        bad.body["error"]["details"][0]["field"],
        "config.resolvers[0]"
    );
}

#[tokio::test]
async fn a_crash_mid_validation_resumes_without_duplicates() {
    let n = 3_000usize;
    let dns = TestDns::start(zone(n), Mode::Answer).await;
    let c = Client::new_user().await;
    let persona = dns_persona(&c, &dns, true, 1000).await;
    let id = campaign(&c, "step_by_step", n as u64, &persona).await;
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, WAIT, |s| status_of(s, "discovery") == "completed")
        .await;
    // the first two validation chunks are resolved and stored, then recording them fails
    let rule = arm_fault(&json!({
        "function": "phase-worker", "campaignId": id, "times": 2,
        "operation": "PutItem", "table": "campaign-autostart-campaigns", "error": "internal"
    }))
    .await;
    c.post(
        &format!("/campaigns/{id}/phases/validation/start"),
        &json!({}),
    )
    .await
    .expect(202);
    let s = c
        .wait_status(&id, WAIT, |s| status_of(s, "validation") == "completed")
        .await;
    assert_eq!(fault_injected(rule).await, 2);
    let expected_resolved = (0..n).filter(|i| i % 3 == 0).count() as u64;
    assert_eq!(
        phase(&s, "validation")["summary"],
        json!({"resolved": expected_resolved, "unresolved": n as u64 - expected_resolved}),
        "each chunk counted once"
    );
    assert_eq!(
        listed(&c, &id, "resolved").await.len() as u64,
        expected_resolved
    );
}
