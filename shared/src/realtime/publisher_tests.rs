//! The publisher against a fake Management API on 127.0.0.1 (real HTTP, the real SDK client):
//! one connection that always answers 429 `LimitExceededException` costs the first record its
//! bounded retries and every later record one attempt; the others get every event.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::publisher::{PUSH_ATTEMPTS, PUSH_RETRY_BUDGET, Publisher};
use super::push::Push;
use crate::domain::{Campaign, CampaignConfig, Mode};
use crate::lambda::CampaignChange;
use crate::net::AddressPolicy;
use crate::store::{Connection, Topic};
use crate::{AppState, Settings};

/// Requests per connection id; pushes to `bad` fail while `failing` holds.
#[derive(Default)]
struct Fake {
    posts: Mutex<HashMap<String, u32>>,
    failing: AtomicBool,
}

impl Fake {
    fn posts(&self, id: &str) -> u32 {
        self.posts.lock().unwrap().get(id).copied().unwrap_or(0)
    }
}

async fn management(fake: Arc<Fake>, bad: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let fake = fake.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let fake = fake.clone();
                    async move {
                        let id = req
                            .uri()
                            .path()
                            .trim_start_matches("/@connections/")
                            .to_string();
                        *fake.posts.lock().unwrap().entry(id.clone()).or_default() += 1;
                        let r = if id == bad && fake.failing.load(Ordering::SeqCst) {
                            Response::builder()
                                .status(429)
                                .header("x-amzn-errortype", "LimitExceededException")
                                .body(Full::new(Bytes::from(r#"{"message":"Limit Exceeded"}"#)))
                        } else {
                            Response::builder()
                                .status(200)
                                .body(Full::new(Bytes::new()))
                        };
                        Ok::<_, std::convert::Infallible>(r.unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

fn sdk() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "test",
        )))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

fn change(c: &Campaign) -> CampaignChange {
    CampaignChange {
        event_name: "INSERT".into(),
        old: None,
        new: Some(c.clone()),
        sequence_number: Some("1".into()),
        approximate_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn one_always_failing_connection_costs_one_attempt_per_record_after_its_first_drop() {
    let (state, _) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
    let now = chrono::Utc::now();
    let ids = ["bad", "good1", "good2"];
    for id in ids {
        let conn = Connection {
            connection_id: id.into(),
            owner_id: "owner".into(),
            connected_at: now,
            expires_at: now.timestamp() + 3600,
            topics: Vec::new(),
        };
        assert!(state.ws.connect(&conn, 10, now.timestamp()).await.unwrap());
        let topic = Topic::Owner("owner".into());
        state
            .ws
            .subscribe(id, "owner", &topic, now.timestamp() + 3600, 100)
            .await
            .unwrap();
    }
    let fake = Arc::new(Fake::default());
    fake.failing.store(true, Ordering::SeqCst);
    let publisher = Publisher::new(Push::new(
        &sdk(),
        Some(&management(fake.clone(), "bad").await),
    ));
    let campaign = Campaign::new(
        uuid::Uuid::new_v4(),
        "owner",
        "c".into(),
        Mode::FullSequence,
        CampaignConfig::default(),
        "corr".into(),
        now,
    );

    // First record: the bad connection gets its bounded retries (no SDK retries on top), the
    // others every event.
    let started = Instant::now();
    let out = publisher
        .handle_change(&state, change(&campaign))
        .await
        .unwrap();
    let first = started.elapsed();
    let events = out.events as u32;
    assert!(events >= 1);
    assert_eq!((out.subscribers, out.dropped), (3, 1));
    assert_eq!(
        fake.posts("bad"),
        PUSH_ATTEMPTS,
        "the publisher's retries only"
    );
    assert_eq!((fake.posts("good1"), fake.posts("good2")), (events, events));
    assert!(
        first < PUSH_RETRY_BUDGET + Duration::from_secs(1),
        "{first:?}"
    );

    // Later records: one attempt each, no backoff.
    for round in 1..=5 {
        let started = Instant::now();
        let out = publisher
            .handle_change(&state, change(&campaign))
            .await
            .unwrap();
        assert_eq!(out.dropped, 1);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(fake.posts("bad"), PUSH_ATTEMPTS + round);
        assert_eq!(fake.posts("good1"), events * (round + 1));
    }

    // It recovers: every event again, and it is forgotten (full retries if it fails later).
    fake.failing.store(false, Ordering::SeqCst);
    let before = fake.posts("bad");
    let out = publisher
        .handle_change(&state, change(&campaign))
        .await
        .unwrap();
    assert_eq!(out.dropped, 0);
    assert_eq!(fake.posts("bad"), before + events);
    fake.failing.store(true, Ordering::SeqCst);
    let before = fake.posts("bad");
    publisher
        .handle_change(&state, change(&campaign))
        .await
        .unwrap();
    assert_eq!(fake.posts("bad"), before + PUSH_ATTEMPTS);

    let t = publisher.totals();
    assert_eq!((t.records, t.dropped, t.gone, t.rejected), (8, 7, 0, 0));
    assert_eq!(t.deliveries, 8 * 2 + 1);
}
