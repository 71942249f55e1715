//! The sample events in `events/` (also used with `sam local invoke -e`) parse into the types the
//! handlers take and mean what the handlers expect, so the fixtures cannot rot. The two stream
//! fixtures are generated from the domain (`regenerate_stream_fixtures`, run with `--ignored`
//! after a change of the stored campaign item) and checked byte for byte.

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::SqsEvent;
use campaign_shared::domain::{
    AutoStartStatus, Campaign, CampaignConfig, DISCOVERY, Mode, PhaseStatus, StartPlan, Trigger,
};
use campaign_shared::lambda::{CampaignChange, MessageMeta};
use campaign_shared::messages::{AutoStartMessage, PhaseWorkMessage};
use campaign_shared::service::dispatch::{Dispatch, dispatches};
use chrono::{DateTime, Utc};

fn path(name: &str) -> String {
    format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn api_event_carries_the_jwt_claims_the_handler_reads() {
    let req = lambda_http::request::from_str(&fixture("api-create-campaign.json"))
        .expect("HTTP API v2 event");
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri().path(), "/campaigns");
    assert!(
        campaign_shared::api::http::caller_sub(&req).is_some(),
        "sub from requestContext.authorizer.jwt.claims"
    );
    let body: serde_json::Value =
        campaign_shared::api::parse_json(req.body().as_ref()).expect("JSON body");
    assert_eq!(body["mode"], "full_sequence");
    let health = lambda_http::request::from_str(&fixture("api-health.json")).expect("health event");
    assert_eq!(campaign_shared::api::http::caller_sub(&health), None);
}

#[test]
fn sqs_events_carry_the_messages_and_attributes_the_workers_read() {
    for (name, receive) in [("autostart-worker.json", 1), ("autostart-dlq.json", 6)] {
        let event: SqsEvent = serde_json::from_str(&fixture(name)).expect("SQS event");
        let message = &event.records[0];
        let meta = MessageMeta::of(message);
        assert_eq!(meta.receive_count, receive, "{name}");
        assert!(
            !meta.correlation_id.is_empty(),
            "{name}: correlationId attribute"
        );
        let body: AutoStartMessage =
            serde_json::from_str(message.body.as_deref().unwrap()).expect("auto-start message");
        assert_eq!(body.phase, DISCOVERY);
        assert_eq!(body.correlation_id, meta.correlation_id);
    }
    for name in ["phase-worker.json", "phase-dlq.json"] {
        let event: SqsEvent = serde_json::from_str(&fixture(name)).expect("SQS event");
        let body: PhaseWorkMessage =
            serde_json::from_str(event.records[0].body.as_deref().unwrap()).expect("work message");
        assert_eq!((body.phase, body.run, body.chunk), (DISCOVERY, 1, 0));
    }
}

fn at(ms: &str) -> DateTime<Utc> {
    ms.parse().unwrap()
}

/// The change the stream fixtures show: a Full Auto campaign's discovery starting automatically.
fn fixture_change() -> (Campaign, Campaign) {
    let config: CampaignConfig = serde_json::from_value(serde_json::json!({
        "discovery": {"patternType": "prefix", "constantString": "shop", "variableLength": 3,
                      "characterSet": "abcdefghijklmnopqrstuvwxyz0123456789",
                      "tlds": [".com", ".net"], "numDomains": 1000},
        "personaIds": [], "proxyIds": []
    }))
    .unwrap();
    let old = Campaign::new(
        "3f2b8c1e-7a4d-4e2b-9c6f-1d2e3f4a5b6c".parse().unwrap(),
        "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
        "Shoes Q4".into(),
        Mode::FullSequence,
        config,
        "5e8f0a2c-1b3d-4c5e-8f7a-9b0c1d2e3f4a".into(),
        at("2026-11-25T10:00:00.000Z"),
    );
    let mut new = old.clone();
    let plan = StartPlan {
        total: 1000,
        chunk_size: 1000,
    };
    new.start_phase(
        DISCOVERY,
        Trigger::Auto,
        plan,
        1,
        at("2026-11-25T10:00:00.123Z"),
    )
    .unwrap();
    (old, new)
}

fn stream_fixture(function_arn_table: &str) -> String {
    let (old, new) = fixture_change();
    let record = serde_json::json!({
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795600800,
            "Keys": {"id": {"S": old.id.to_string()}},
            "NewImage": serde_dynamo::to_item::<_, serde_dynamo::Item>(&new).unwrap(),
            "OldImage": serde_dynamo::to_item::<_, serde_dynamo::Item>(&old).unwrap(),
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 2330,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": function_arn_table,
    });
    let mut text = serde_json::to_string_pretty(&serde_json::json!({"Records": [record]})).unwrap();
    text.push('\n');
    text
}

const STREAM_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/campaign-autostart-campaigns/stream/2026-11-25T09:00:00.000";

#[test]
#[ignore = "writes events/phase-dispatcher.json and events/stream-publisher.json"]
fn regenerate_stream_fixtures() {
    for name in ["phase-dispatcher.json", "stream-publisher.json"] {
        std::fs::write(path(name), stream_fixture(STREAM_ARN)).unwrap();
    }
}

#[test]
fn stream_fixtures_are_the_current_item_format() {
    for name in ["phase-dispatcher.json", "stream-publisher.json"] {
        assert_eq!(
            fixture(name),
            stream_fixture(STREAM_ARN),
            "{name} is stale: run `cargo test -p campaign-shared --test event_fixtures -- --ignored`"
        );
    }
}

#[test]
fn stream_events_parse_into_campaign_changes_and_dispatch_chunk_zero() {
    for name in ["phase-dispatcher.json", "stream-publisher.json"] {
        let event: StreamEvent = serde_json::from_str(&fixture(name)).expect("stream event");
        let change = CampaignChange::from_record(&event.records[0]).expect("campaign images");
        let (old, new) = (change.old.as_ref().unwrap(), change.new.as_ref().unwrap());
        assert_eq!(old.phase(DISCOVERY).status, PhaseStatus::NotStarted);
        assert_eq!(
            old.phase(DISCOVERY).auto_start.status,
            AutoStartStatus::Queued
        );
        let d = new.phase(DISCOVERY);
        assert_eq!(
            (d.status, d.trigger),
            (PhaseStatus::Running, Some(Trigger::Auto))
        );
        assert_eq!(new.version, old.version + 1);
        let out = dispatches(Some(old), new);
        assert_eq!(out.len(), 1, "{name}");
        assert!(
            matches!(&out[0], Dispatch::Work(w) if w.chunk == 0 && w.run == 1 && w.campaign_id == new.id)
        );
        // replaying the same change dispatches the same message again (duplicates are harmless),
        // and a change that does not move the chunk dispatches nothing
        assert!(dispatches(Some(new), new).is_empty());
    }
}

#[test]
fn the_sweeper_event_is_a_scheduled_event() {
    // The sweeper reads nothing from its event (it sweeps the index); the fixture is what an
    // EventBridge schedule delivers.
    let event: serde_json::Value =
        serde_json::from_str(&fixture("sweeper.json")).expect("JSON event");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["source"], "aws.events");
}
