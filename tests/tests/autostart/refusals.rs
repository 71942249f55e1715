//! Auto-starts that must not run: an invalid config or a disabled proxy fails the request
//! permanently (no retries), and a manual start succeeds once it is fixed.

use super::*;

#[tokio::test]
async fn invalid_config_fails_permanently_without_retries_and_manual_start_recovers() {
    let c = Client::new_user().await;
    // a draft without discovery config, in Full Auto
    let id = c
        .post(
            "/campaigns",
            &json!({"name": "draft", "mode": "full_sequence"}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = c
        .wait_status(&id, WAIT, |s| s["autoStart"]["status"] == "failed")
        .await;
    let err = &s["autoStart"]["error"];
    assert_eq!(err["code"], "INVALID_CONFIG");
    assert_eq!(err["details"][0]["field"], "config.discovery");
    assert_eq!(
        s["autoStart"]["attempts"], 1,
        "a permanent failure is not retried"
    );
    assert_eq!(discovery_status(&s), "not_started");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let later = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(later["version"], s["version"], "nothing retried it");
    // fix and start by hand
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"discovery": discovery(40)}),
    )
    .await
    .expect(200);
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, WAIT, |s| discovery_status(s) == "completed")
        .await;
    assert_exact_domains(&c, &id, 40).await;
}

#[tokio::test]
async fn a_disabled_proxy_fails_the_auto_start_and_enabling_it_allows_a_manual_start() {
    let c = Client::new_user().await;
    let proxy = c
        .post(
            "/proxies",
            &json!({"address": "http://127.0.0.1:8888", "enabled": false}),
        )
        .await
        .expect(201)
        .body;
    let pid = proxy["id"].as_str().unwrap();
    let persona = c
        .post(
            "/personas",
            &json!({"name": "p", "kind": "http", "enabled": false, "config": {"userAgent": "ua"}}),
        )
        .await
        .expect(201)
        .body;
    let personaid = persona["id"].as_str().unwrap();
    let mut body = campaign_body("full_sequence", 30);
    body["config"]["proxyIds"] = json!([pid]);
    body["config"]["personaIds"] = json!([personaid]);
    let id = c.create_campaign(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = c
        .wait_status(&id, WAIT, |s| s["autoStart"]["status"] == "failed")
        .await;
    let fields: Vec<&str> = s["autoStart"]["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["config.personaIds[0]", "config.proxyIds[0]"]);
    assert_eq!(discovery_status(&s), "not_started");
    // a manual start is refused the same way until they are enabled
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect_error(422, "INVALID_CONFIG");
    c.patch(&format!("/proxies/{pid}"), &json!({"enabled": true}))
        .await
        .expect(200);
    c.patch(&format!("/personas/{personaid}"), &json!({"enabled": true}))
        .await
        .expect(200);
    let r = c
        .post(
            &format!("/campaigns/{id}/phases/discovery/start"),
            &json!({}),
        )
        .await
        .expect(202);
    assert_eq!(phase(&r.body, "discovery")["trigger"], "manual");
    c.wait_status(&id, WAIT, |s| discovery_status(s) == "completed")
        .await;
}
