//! Redelivery after a publisher failure: no event lost, versions in order, other users'
//! campaigns in the same batch unaffected.

use super::*;

#[tokio::test]
async fn a_publisher_failure_is_redelivered_without_losing_events() {
    let c = Client::new_user().await;
    let other = Client::new_user().await;
    let mut ws = Socket::connect(&c).await;
    let mut other_ws = Socket::connect(&other).await;
    ws.subscribe("*").await;
    other_ws.subscribe("*").await;
    let campaign = c
        .create_campaign(&campaign_body("step_by_step", 3000))
        .await;
    let id = campaign["id"].as_str().unwrap();
    ws.events_until(id, WAIT, |e| e["type"] == "campaign_created")
        .await;

    // The publisher's next invocation with a record of this campaign fails on DynamoDB.
    let rule =
        arm_fault(&json!({"function": "stream-publisher", "campaignId": id, "times": 1})).await;
    // Another user's campaign is created at the same moment, so it may share the failing batch.
    let (mode_path, full, other_body) = (
        format!("/campaigns/{id}/mode"),
        json!({"mode": "full_sequence"}),
        campaign_body("step_by_step", 10),
    );
    let (changed, other_campaign) =
        tokio::join!(c.put(&mode_path, &full), other.create_campaign(&other_body));
    changed.expect(200);
    let events = ws
        .events_until(id, WAIT, is("phase_completed", "discovery"))
        .await;
    assert!(fault_injected(rule).await > 0, "the injected fault fired");

    let k = kinds(&events);
    let mode = position(&events, "mode_changed");
    assert_eq!(k[mode + 1], "auto_start_queued", "{k:?}");
    assert!(mode < position(&events, "phase_auto_started"), "{k:?}");
    assert_eq!(events[mode]["version"], 2);
    assert_eq!(
        events[mode]["data"],
        json!({"from": "step_by_step", "to": "full_sequence"})
    );
    assert_versions_never_decrease(&events);
    for e in &events {
        assert_envelope(e, &campaign);
    }
    // Every version from the mode change to the completion arrived (progress may be throttled,
    // so only versions carrying other events are required).
    let completed = events.last().unwrap()["version"].as_u64().unwrap();
    let status = c.get(&format!("/campaigns/{id}")).await.expect(200).body;
    assert!(status["version"].as_u64().unwrap() >= completed);

    let other_id = other_campaign["id"].as_str().unwrap();
    let theirs = other_ws
        .events_until(other_id, WAIT, |e| e["type"] == "campaign_created")
        .await;
    assert_eq!(theirs.len(), 1);
}
