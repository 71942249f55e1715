//! The sample events in `events/` (also used with `sam local invoke -e`) parse into the types the
//! handlers take and mean what the handlers expect, so the fixtures cannot rot.

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::SqsEvent;
use campaign_shared::adapters::queue::{AutoStartMessage, PhaseWorkMessage};
use campaign_shared::domain::{AutoStartStatus, PhaseName, PhaseStatus, Trigger};
use campaign_shared::lambda::{CampaignChange, MessageMeta};
use campaign_shared::service::dispatch::{Dispatch, dispatches};

fn fixture(name: &str) -> String {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn api_event_carries_the_jwt_claims_the_handler_reads() {
    let req = lambda_http::request::from_str(&fixture("api-create-campaign.json"))
        .expect("HTTP API v2 event");
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri().path(), "/campaigns");
    assert!(
        campaign_shared::api::caller_sub(&req).is_some(),
        "sub from requestContext.authorizer.jwt.claims"
    );
    let body: serde_json::Value =
        campaign_shared::api::parse_json(req.body().as_ref()).expect("JSON body");
    assert_eq!(body["mode"], "full_sequence");
    let health = lambda_http::request::from_str(&fixture("api-health.json")).expect("health event");
    assert_eq!(campaign_shared::api::caller_sub(&health), None);
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
        assert_eq!(body.phase, PhaseName::Discovery);
        assert_eq!(body.correlation_id, meta.correlation_id);
    }
    for name in ["phase-worker.json", "phase-dlq.json"] {
        let event: SqsEvent = serde_json::from_str(&fixture(name)).expect("SQS event");
        let body: PhaseWorkMessage =
            serde_json::from_str(event.records[0].body.as_deref().unwrap()).expect("work message");
        assert_eq!(body.phase, PhaseName::Discovery);
    }
}

#[test]
fn stream_events_parse_into_campaign_changes_and_dispatch_chunk_zero() {
    for name in ["phase-dispatcher.json", "stream-publisher.json"] {
        let event: StreamEvent = serde_json::from_str(&fixture(name)).expect("stream event");
        let change = CampaignChange::from_record(&event.records[0]).expect("campaign images");
        let (old, new) = (change.old.as_ref().unwrap(), change.new.as_ref().unwrap());
        assert_eq!(
            old.phase(PhaseName::Discovery).status,
            PhaseStatus::NotStarted
        );
        assert_eq!(old.auto_start.status, AutoStartStatus::Queued);
        let d = new.phase(PhaseName::Discovery);
        assert_eq!(
            (d.status, d.trigger),
            (PhaseStatus::Running, Some(Trigger::Auto))
        );
        assert_eq!(new.version, old.version + 1);
        let out = dispatches(Some(old), new);
        assert_eq!(out.len(), 1, "{name}");
        assert!(matches!(&out[0], Dispatch::Work(w) if w.chunk == 0 && w.campaign_id == new.id));
        // replaying the same change dispatches the same message again (duplicates are harmless),
        // and a change that does not move the chunk dispatches nothing
        assert!(dispatches(Some(new), new).is_empty());
    }
}
