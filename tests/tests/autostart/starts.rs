//! Who starts discovery: Full Auto by itself (exactly once, every domain), Manual never, and the
//! seed's three-call client flow never twice.

use super::*;

#[tokio::test]
async fn full_sequence_starts_discovery_by_itself_and_completes_exactly() {
    let c = Client::new_user().await;
    let n = 30_000;
    let created = c.create_campaign(&campaign_body("full_sequence", n)).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["autoStart"]["status"], "queued");
    assert_eq!(created["autoStart"]["phase"], "discovery");
    assert!(created["autoStart"]["requestedAt"].is_string());
    // while discovery runs, the auto-start request shows how it started
    let running = c
        .wait_status(id, WAIT, |s| s["autoStart"]["status"] != "queued")
        .await;
    let auto = &running["autoStart"];
    assert_eq!(
        (auto["phase"].as_str(), auto["status"].as_str()),
        (Some("discovery"), Some("started")),
        "{running}"
    );
    assert_eq!(auto["attempts"], 1);
    assert!(auto["latencyMs"].as_i64().unwrap() >= 0);
    assert!(auto["startedAt"].is_string());
    let done = settled(&c, id).await;
    let d = phase(&done, "discovery");
    assert_eq!(d["trigger"], "auto");
    assert_eq!(d["progress"], json!({"done": n, "total": n}));
    assert_exact_domains(&c, id, n as usize).await;
    // versions: create, start, one per chunk (1000 per chunk), the auto-advance request's failure
    // (no DNS persona) — no extra write from anywhere
    assert_eq!(done["version"], 2 + n.div_ceil(1000) + 1);
}

#[tokio::test]
async fn manual_mode_never_starts_by_itself() {
    let c = Client::new_user().await;
    let id = c.create_campaign(&campaign_body("step_by_step", 50)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let s = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(discovery_status(&s), "not_started");
    assert_eq!(s["autoStart"]["status"], "not_requested");
    assert_eq!(s["version"], 1);
}

#[tokio::test]
async fn the_seed_three_call_client_flow_never_double_starts() {
    for _ in 0..3 {
        let c = Client::new_user().await;
        let id = c
            .create_campaign(&campaign_body("step_by_step", 1500))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        c.put(
            &format!("/campaigns/{id}/mode"),
            &json!({"mode": "full_sequence"}),
        )
        .await
        .expect(200);
        let start = c
            .post(
                &format!("/campaigns/{id}/phases/discovery/start"),
                &json!({}),
            )
            .await;
        match start.status.as_u16() {
            202 => {}
            409 => assert!(
                matches!(
                    start.code(),
                    "PHASE_ALREADY_RUNNING" | "PHASE_ALREADY_COMPLETED"
                ),
                "{}",
                start.body
            ),
            s => panic!("unexpected {s}: {}", start.body),
        }
        let done = settled(&c, &id).await;
        let trigger = phase(&done, "discovery")["trigger"]
            .as_str()
            .unwrap()
            .to_string();
        // exactly one start: the worker's, or the client's (and then the worker skipped)
        let expected_trigger = if start.status.as_u16() == 202 {
            "manual"
        } else {
            "auto"
        };
        assert_eq!(trigger, expected_trigger, "{done}");
        assert_exact_domains(&c, &id, 1500).await;
        // create, mode, start (a manual start marks the queued request skipped in the same
        // write), 2 chunks, the validation request's failure
        assert_eq!(done["version"], 6, "{done}");
    }
}
