//! Failing receives: retries with backoff, the DLQ and `retries_exhausted` once they run out,
//! and a switch back to Manual cancelling a request still queued.

use super::*;

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
