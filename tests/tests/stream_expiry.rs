//! A stream consumer whose delivery outlasts its shard iterator reads on (local/src/streams.rs):
//! DynamoDB Streams refuses an iterator 15 minutes after it was handed out, and a poller that
//! kept the refused one read nothing again, ever.
//!
//! It needs moto started with a short iterator lifetime, so it is ignored in the normal run:
//!
//! ```sh
//! scripts/stack.sh stop && MOTO_SERVER_ARGS="--iterator-lifetime 3" scripts/stack.sh start
//! cargo test -p integration-tests --test stream_expiry -- --ignored
//! ```
//!
//! It first checks that the stack does expire iterators that fast (and fails if not).

use std::time::{Duration, Instant};

use integration_tests::*;
use serde_json::json;

const LIFETIME: Duration = Duration::from_secs(3);

/// Panics unless an iterator of the campaigns table's stream is refused after [`LIFETIME`].
async fn iterators_expire_quickly() {
    let table =
        std::env::var("CAMPAIGNS_TABLE").unwrap_or_else(|_| "campaign-autostart-campaigns".into());
    let described = dynamodb("DescribeTable", &json!({"TableName": table})).await;
    let arn = described["Table"]["LatestStreamArn"]
        .as_str()
        .expect("the campaigns table has a stream")
        .to_string();
    let stream = dynamodb_streams("DescribeStream", &json!({"StreamArn": arn})).await;
    let shard = stream["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .expect("a shard")
        .to_string();
    let it = dynamodb_streams(
        "GetShardIterator",
        &json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"}),
    )
    .await["ShardIterator"]
        .as_str()
        .expect("an iterator")
        .to_string();
    tokio::time::sleep(LIFETIME + Duration::from_secs(1)).await;
    // Any later request stores an iterator, which drops the ones past their lifetime.
    dynamodb_streams(
        "GetShardIterator",
        &json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"}),
    )
    .await;
    let answer = dynamodb_streams("GetRecords", &json!({"ShardIterator": it})).await;
    assert_eq!(
        answer["__type"]
            .as_str()
            .map(|t| t.ends_with("ExpiredIteratorException")),
        Some(true),
        "moto keeps shard iterators longer than {LIFETIME:?} (start it with \
         MOTO_SERVER_ARGS=\"--iterator-lifetime 3\"): {answer}"
    );
}

#[tokio::test]
#[ignore = "needs moto started with --iterator-lifetime 3 (see the file's header)"]
async fn a_consumer_reads_on_after_its_shard_iterator_expired() {
    iterators_expire_quickly().await;
    let c = Client::new_user().await;
    let body = |n: u64| campaign_body("step_by_step", n);

    // The publisher's delivery of a's records fails (throttled reads of the subscriptions) and
    // is retried for longer than an iterator lives.
    let a = c.create_campaign(&body(100)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rule =
        arm_fault(&json!({"function": "stream-publisher", "campaignId": a, "times": 30})).await;
    let started = Instant::now();
    c.post(
        &format!("/campaigns/{a}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    // Until the fault stops firing: its 30 are used up, or the publisher stopped reading.
    let (mut injected, mut still_since) = (0, Instant::now());
    while injected == 0 || still_since.elapsed() < LIFETIME * 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the fault fired {injected} times in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = fault_injected(rule).await;
        if now != injected {
            (injected, still_since) = (now, Instant::now());
        }
    }
    let failing = still_since.duration_since(started);
    assert!(
        failing > LIFETIME,
        "the failing deliveries took {failing:?}, not longer than an iterator lives"
    );

    // Later records still reach a subscriber.
    let b = c.create_campaign(&body(200)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = Socket::connect(&c).await;
    assert_eq!(ws.subscribe(&b).await["type"], "subscribed");
    c.post(
        &format!("/campaigns/{b}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    ws.events_until(&b, Duration::from_secs(60), |e| {
        e["type"] == "phase_completed"
    })
    .await;
}
