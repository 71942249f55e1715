//! The SQS adapter's `send_all` (decision 48) against moto's SQS: more messages than one
//! `SendMessageBatch` takes, to both queues, each answered for itself and in its order; an
//! entry SQS refuses fails alone. Scratch queues, so the stack's pollers never see them.

use campaign_shared::domain::DISCOVERY;
use campaign_shared::messages::{AutoStartMessage, Dispatch, PhaseWorkMessage};
use campaign_shared::store::Queues;
use campaign_shared::store::aws::Aws;
use campaign_shared::store::sqs::SqsQueues;
use chrono::Utc;
use uuid::Uuid;

async fn scratch_queue(sqs: &aws_sdk_sqs::Client, what: &str) -> String {
    let name = format!("scratch-{what}-{}", Uuid::new_v4().simple());
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create the scratch queue")
        .queue_url
        .expect("queue url")
}

/// Receives until the queue answers empty; the bodies.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return out;
        }
        for m in got {
            out.push(serde_json::from_str(m.body().unwrap_or_default()).expect("json body"));
        }
    }
}

#[tokio::test]
async fn send_all_answers_each_message_across_requests_and_queues() {
    let aws = Aws::new(campaign_shared::sdk::load_sdk_config().await);
    let sqs = aws.sqs().clone();
    let (autostart, work) = (
        scratch_queue(&sqs, "autostart").await,
        scratch_queue(&sqs, "work").await,
    );
    let queues = SqsQueues {
        aws,
        autostart_url: autostart.clone(),
        phase_work_url: work.clone(),
        stream_failure_url: autostart.clone(),
    };
    let campaign = Uuid::new_v4();
    let chunk = |chunk: u64| {
        Dispatch::Work(PhaseWorkMessage {
            campaign_id: campaign,
            phase: DISCOVERY,
            run: 1,
            chunk,
            correlation_id: "corr".into(),
        })
    };
    let start = |delay: i32| {
        let m = AutoStartMessage {
            campaign_id: Uuid::new_v4(),
            phase: DISCOVERY,
            correlation_id: "corr".into(),
            requested_at: Utc::now(),
        };
        Dispatch::AutoStart(m, delay)
    };
    // 13 chunks (two requests) between 3 auto-starts; the second auto-start asks for a delay
    // SQS refuses (more than 900 s), the third is hidden for 60 s.
    let mut messages: Vec<Dispatch> = (0..13).map(chunk).collect();
    messages.insert(4, start(0));
    messages.insert(9, start(1_000));
    messages.push(start(60));
    let results = queues.send_all(&messages).await;
    assert_eq!(results.len(), messages.len());
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.is_err(), i == 9, "message {i}: {r:?}");
    }
    let mut chunks: Vec<u64> = drain(&sqs, &work)
        .await
        .iter()
        .map(|b| b["chunk"].as_u64().expect("chunk"))
        .collect();
    chunks.sort_unstable();
    assert_eq!(chunks, (0..13).collect::<Vec<_>>());
    let visible = drain(&sqs, &autostart).await;
    assert_eq!(
        visible.len(),
        1,
        "the delayed one stays hidden: {visible:?}"
    );
    let delayed = sqs
        .get_queue_attributes()
        .queue_url(&autostart)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .expect("attributes");
    let delayed = delayed
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        })
        .cloned();
    assert_eq!(delayed.as_deref(), Some("1"));
    for url in [autostart, work] {
        sqs.delete_queue()
            .queue_url(url)
            .send()
            .await
            .expect("delete");
    }
}
