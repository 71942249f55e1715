//! Subscriptions and their ownership (another user's campaign looks missing), malformed messages,
//! the 410 clean-up of an abruptly dropped client, `$disconnect`, and the handshake's token check.

use super::*;

#[tokio::test]
async fn other_users_never_see_the_events_nor_subscribe_to_the_campaign() {
    let alice = Client::new_user().await;
    let bob = Client::new_user().await;
    let mut a = Socket::connect(&alice).await;
    let mut b = Socket::connect(&bob).await;
    a.subscribe("*").await;
    b.subscribe("*").await;

    let campaign = alice
        .create_campaign(&campaign_body("full_sequence", 1000))
        .await;
    let id = campaign["id"].as_str().unwrap();
    let denied = b.subscribe(id).await;
    assert_eq!(denied["type"], "error");
    assert_eq!(denied["code"], "NOT_FOUND");
    assert!(denied["message"].is_string());
    let unknown = b.subscribe(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(
        unknown["code"], "NOT_FOUND",
        "someone else's campaign looks exactly like a missing one"
    );

    a.events_until(id, WAIT, is("phase_completed", "discovery"))
        .await;
    settled(&alice, id).await;
    let leaked = b.drain(Duration::from_millis(500)).await;
    assert!(leaked.is_empty(), "bob received {leaked:?}");

    // Malformed messages are answered, and the connection stays open.
    for (message, code) in [
        (json!({"action": "dance"}), "BAD_REQUEST"),
        (json!({"campaignId": "*"}), "BAD_REQUEST"),
        (
            json!({"action": "subscribe", "campaignId": "not-an-id"}),
            "BAD_REQUEST",
        ),
        (json!({"action": "subscribe"}), "BAD_REQUEST"),
        (json!(["subscribe"]), "BAD_REQUEST"),
    ] {
        let answer = b.request(&message).await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some(code)),
            "{message}"
        );
    }
    assert_eq!(
        b.request(&json!({"action": "ping"})).await,
        json!({"type": "pong"})
    );
}

#[tokio::test]
async fn an_abruptly_dropped_client_is_forgotten_on_the_next_push_and_others_still_get_events() {
    let c = Client::new_user().await;
    let topic = format!("owner#{}", c.user);
    let mut stays = Socket::connect(&c).await;
    stays.subscribe("*").await;
    let before = subscribed_connections(&topic).await;
    let mut drops = Socket::connect(&c).await;
    drops.subscribe("*").await;
    let both = subscribed_connections(&topic).await;
    assert_eq!(both.len(), 2);
    let dropped_id = both.iter().find(|id| !before.contains(id)).unwrap().clone();
    assert!(connection_stored(&dropped_id).await);

    drop(drops); // no close frame: the gateway delivers no $disconnect
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        subscribed_connections(&topic).await.len(),
        2,
        "still there until a push finds it gone"
    );

    let campaign = c.create_campaign(&campaign_body("step_by_step", 10)).await;
    let id = campaign["id"].as_str().unwrap();
    stays
        .events_until(id, WAIT, |e| e["type"] == "campaign_created")
        .await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribed_connections(&topic).await.len() != 1 {
        assert!(
            Instant::now() < deadline,
            "the gone connection's subscription was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(subscribed_connections(&topic).await, before);
    assert!(
        !connection_stored(&dropped_id).await,
        "the gone connection's item was deleted"
    );

    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    let events = stays
        .events_until(id, WAIT, is("phase_completed", "discovery"))
        .await;
    assert_eq!(kinds(&events)[0], "phase_started");

    // A clean close removes the connection and its subscriptions right away ($disconnect).
    let stays_id = before[0].clone();
    stays.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while connection_stored(&stays_id).await || !subscribed_connections(&topic).await.is_empty() {
        assert!(Instant::now() < deadline, "$disconnect did not clean up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_handshake_needs_a_valid_token() {
    let now = chrono::Utc::now().timestamp();
    let good = json!({"sub": "mallory", "iss": "campaign-autostart-local", "aud": "campaign-autostart", "exp": now + 600});
    let mut expired = good.clone();
    expired["exp"] = json!(now - 10);
    let mut no_sub = good.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_eq!(Socket::open(None).await.err(), Some(401));
    for token in [
        sign(&good, "wrong-secret"),
        sign(&expired, LOCAL_SECRET),
        sign(&no_sub, LOCAL_SECRET),
        "garbage".into(),
    ] {
        assert_eq!(Socket::open(Some(&token)).await.err(), Some(401), "{token}");
    }
    let mut ok = Socket::open(Some(&sign(&good, LOCAL_SECRET)))
        .await
        .expect("a valid token connects");
    assert_eq!(
        ok.request(&json!({"action": "ping"})).await,
        json!({"type": "pong"})
    );
}
