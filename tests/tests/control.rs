//! Phase control and self-healing through the HTTP API and the WebSocket, as a client sees them
//! (API.md routes, EVENTS.md events, BEHAVIOUR.md "Phase control and self-healing"): every
//! control transition, every 409, the events each one yields, readiness, and the gateway's own
//! scheduled sweeper recovering a campaign whose chunk message was lost.

use std::time::Duration;

use integration_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn status_of(s: &Value, name: &str) -> String {
    phase(s, name)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn control(c: &Client, id: &str, phase: &str, action: &str) -> Reply {
    c.post(
        &format!("/campaigns/{id}/phases/{phase}/{action}"),
        &json!({}),
    )
    .await
}

async fn new_campaign(c: &Client, mode: &str, n: u64) -> String {
    c.create_campaign(&campaign_body(mode, n)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_control_transition_and_every_409() {
    let c = Client::new_user().await;
    let id = new_campaign(&c, "step_by_step", 20_000).await;

    // not started: nothing to pause, resume or stop
    control(&c, &id, "discovery", "pause")
        .await
        .expect_error(409, "PHASE_NOT_RUNNING");
    control(&c, &id, "discovery", "resume")
        .await
        .expect_error(409, "PHASE_NOT_PAUSED");
    control(&c, &id, "discovery", "stop")
        .await
        .expect_error(409, "PHASE_NOT_RUNNING");
    control(&c, &id, "validation", "start")
        .await
        .expect_error(409, "PHASE_ORDER");

    let r = control(&c, &id, "discovery", "start").await.expect(202);
    assert_eq!(phase(&r.body, "discovery")["status"], "running");
    control(&c, &id, "discovery", "resume")
        .await
        .expect_error(409, "PHASE_NOT_PAUSED");

    let r = control(&c, &id, "discovery", "pause").await.expect(202);
    assert_eq!(phase(&r.body, "discovery")["status"], "paused");
    control(&c, &id, "discovery", "pause")
        .await
        .expect_error(409, "PHASE_NOT_RUNNING");
    control(&c, &id, "discovery", "start")
        .await
        .expect_error(409, "PHASE_ALREADY_RUNNING");
    c.delete(&format!("/campaigns/{id}"))
        .await
        .expect_error(409, "RESOURCE_IN_USE");
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"discovery": discovery(10)}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_RUNNING");
    // a paused phase stays paused: nothing moves after the chunk that was in flight
    let paused = c
        .wait_status(&id, WAIT, |s| status_of(s, "discovery") == "paused")
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    let done = |s: &Value| phase(s, "discovery")["progress"]["done"].as_u64().unwrap();
    assert!(
        done(&later) <= done(&paused) + 1000,
        "at most the chunk in flight landed"
    );
    assert_eq!(status_of(&later, "discovery"), "paused");
    let settled_done = done(&later);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let again = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        done(&again),
        settled_done,
        "no new chunk starts while paused"
    );

    control(&c, &id, "discovery", "resume").await.expect(202);
    let r = control(&c, &id, "discovery", "stop").await.expect(202);
    assert_eq!(phase(&r.body, "discovery")["status"], "stopped");
    control(&c, &id, "discovery", "stop")
        .await
        .expect_error(409, "PHASE_NOT_RUNNING");
    control(&c, &id, "discovery", "resume")
        .await
        .expect_error(409, "PHASE_NOT_PAUSED");

    // start again: from scratch, to exactly one run's output
    let r = control(&c, &id, "discovery", "start").await.expect(202);
    assert_eq!(phase(&r.body, "discovery")["progress"]["done"], 0);
    c.wait_status(&id, WAIT, |s| status_of(s, "discovery") == "completed")
        .await;
    assert_eq!(c.all_domains(&id).await, generated_domains(20_000));
    control(&c, &id, "discovery", "start")
        .await
        .expect_error(409, "PHASE_ALREADY_COMPLETED");
    control(&c, &id, "discovery", "stop")
        .await
        .expect_error(409, "PHASE_NOT_RUNNING");

    // unknown phase or action, wrong method
    control(&c, &id, "nope", "pause")
        .await
        .expect_error(404, "NOT_FOUND");
    control(&c, &id, "discovery", "dance")
        .await
        .expect_error(404, "NOT_FOUND");
    let r = c
        .send(
            Method::GET,
            &format!("/campaigns/{id}/phases/discovery/pause"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16(), 405);
    // someone else's campaign is not found
    let other = Client::new_user().await;
    control(&other, &id, "discovery", "pause")
        .await
        .expect_error(404, "NOT_FOUND");
    c.delete(&format!("/campaigns/{id}")).await.expect(204);
}

#[tokio::test]
async fn stopping_a_queued_auto_start_cancels_it() {
    let c = Client::new_user().await;
    let id = new_campaign(&c, "step_by_step", 20).await;
    // every auto-start message of this campaign is lost, so the request stays queued
    let rule = arm_fault(
        &json!({"function": "autostart-worker", "campaignId": id, "times": 1000, "error": "drop"}),
    )
    .await;
    c.put(
        &format!("/campaigns/{id}/mode"),
        &json!({"mode": "full_sequence"}),
    )
    .await
    .expect(200);
    let r = control(&c, &id, "discovery", "stop").await.expect(202);
    assert_eq!(r.body["autoStart"]["status"], "cancelled");
    assert_eq!(
        phase(&r.body, "discovery")["autoStart"]["status"],
        "cancelled"
    );
    assert_eq!(status_of(&r.body, "discovery"), "not_started");
    disarm_fault(rule).await;
    control(&c, &id, "discovery", "start").await.expect(202);
}

#[tokio::test]
async fn control_events_arrive_in_order_with_counts() {
    let c = Client::new_user().await;
    let mut socket = Socket::connect(&c).await;
    socket.subscribe("*").await;
    let id = new_campaign(&c, "step_by_step", 30_000).await;
    control(&c, &id, "discovery", "start").await.expect(202);
    control(&c, &id, "discovery", "pause").await.expect(202);
    let paused = socket
        .events_until(&id, WAIT, |e| e["type"] == "phase_paused")
        .await;
    let p = paused.last().unwrap();
    assert_eq!(p["phase"], "discovery");
    assert_eq!(p["status"], "paused");
    assert_eq!(p["data"]["total"], 30_000);
    control(&c, &id, "discovery", "resume").await.expect(202);
    let resumed = socket
        .events_until(&id, WAIT, |e| e["type"] == "phase_resumed")
        .await;
    assert_eq!(resumed.last().unwrap()["status"], "running");
    control(&c, &id, "discovery", "stop").await.expect(202);
    let stopped = socket
        .events_until(&id, WAIT, |e| e["type"] == "phase_stopped")
        .await;
    let s = stopped.last().unwrap();
    assert!(s["data"]["done"].as_u64().unwrap() < 30_000);
    control(&c, &id, "discovery", "start").await.expect(202);
    let all = socket
        .events_until(&id, WAIT, |e| e["type"] == "phase_completed")
        .await;
    assert!(
        all.iter().any(|e| e["type"] == "phase_started"),
        "start again is a phase_started"
    );
    let versions: Vec<u64> = paused
        .iter()
        .chain(&resumed)
        .chain(&stopped)
        .chain(&all)
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    let sorted = {
        let mut v = versions.clone();
        v.sort();
        v
    };
    assert_eq!(versions, sorted, "in version order");
}

#[tokio::test]
async fn every_read_carries_readiness_and_each_phase_its_auto_start() {
    let c = Client::new_user().await;
    let id = new_campaign(&c, "full_sequence", 20).await;
    let s = c
        .wait_status(&id, WAIT, |s| {
            status_of(s, "discovery") == "completed"
                && s["autoStart"]["phase"] == "validation"
                && s["autoStart"]["status"] == "failed"
        })
        .await;
    let readiness = s["readiness"].as_array().expect("readiness");
    assert_eq!(
        readiness[0],
        json!({"phase": "discovery", "ready": true, "problems": []})
    );
    assert_eq!(readiness[1]["phase"], "validation");
    assert_eq!(readiness[1]["ready"], false);
    assert_eq!(readiness[1]["problems"][0]["field"], "config.personaIds");
    // discovery's own auto-start is still visible after validation's was requested
    let d = phase(&s, "discovery");
    assert_eq!(d["autoStart"]["status"], "started");
    assert!(d["autoStart"]["latencyMs"].is_number());
    assert_eq!(
        phase(&s, "validation")["autoStart"]["error"]["code"],
        "INVALID_CONFIG"
    );
    let full = c.get(&format!("/campaigns/{id}")).await.expect(200).body;
    assert_eq!(full["readiness"], s["readiness"]);
}

#[tokio::test]
async fn the_scheduled_sweeper_recovers_a_lost_chunk() {
    let c = Client::new_user().await;
    let mut socket = Socket::connect(&c).await;
    socket.subscribe("*").await;
    let id = new_campaign(&c, "step_by_step", 3000).await;
    // the first chunk message is lost; nothing else schedules it but the sweeper
    let rule = arm_fault(
        &json!({"function": "phase-worker", "campaignId": id, "times": 1, "error": "drop"}),
    )
    .await;
    control(&c, &id, "discovery", "start").await.expect(202);
    let events = socket
        .events_until(&id, WAIT, |e| e["type"] == "phase_completed")
        .await;
    assert_eq!(fault_injected(rule).await, 1, "the message was lost");
    let recovered = events
        .iter()
        .find(|e| e["type"] == "phase_recovered")
        .unwrap_or_else(|| panic!("no phase_recovered in {events:?}"));
    assert_eq!(
        recovered["data"],
        json!({"reason": "stalled_phase", "redrives": 1})
    );
    assert_eq!(c.all_domains(&id).await, generated_domains(3000));
}
