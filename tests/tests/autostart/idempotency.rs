//! Idempotency and resumable discovery: duplicate and racing SQS messages start discovery once,
//! and a worker dying mid-chunk resumes without gaps or duplicates.

use super::*;

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

async fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}
