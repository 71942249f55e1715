//! The keywords phase's configuration: Full Auto stops visibly before an unconfigured phase and a
//! manual start finishes it once configured; keywords config and HTTP personas are checked field
//! by field.

use super::*;

#[tokio::test]
async fn full_auto_stops_visibly_before_an_unconfigured_keywords_phase_and_a_manual_start_finishes()
{
    let n = 30usize;
    let site = Site::new(n);
    let dns = TestDns::start(site.zone(), Mode::Answer).await;
    let pages = site.pages().await;
    let c = Client::new_user().await;
    let dns_id = dns_persona(&c, &dns).await;
    let mut body = campaign_body("full_sequence", n as u64);
    body["config"]["personaIds"] = json!([dns_id]);
    let created = c.create_campaign(&body).await;
    let id = created["id"].as_str().unwrap();
    let readiness = |b: &Value| {
        b["readiness"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["phase"] == "keywords")
            .cloned()
            .unwrap()
    };
    let read = c.get(&format!("/campaigns/{id}")).await.expect(200).body;
    let before = readiness(&read);
    assert_eq!(before["ready"], false);
    let fields: HashSet<&str> = before["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        HashSet::from(["config.keywords", "config.personaIds"])
    );

    let s = c
        .wait_status(id, WAIT, |s| {
            phase(s, "keywords")["autoStart"]["status"] == "failed"
        })
        .await;
    assert_eq!(status_of(&s, "validation"), "completed");
    assert_eq!(status_of(&s, "keywords"), "not_started");
    let error = &phase(&s, "keywords")["autoStart"]["error"];
    assert_eq!(error["code"], "INVALID_CONFIG", "{error}");
    assert_eq!(s["autoStart"]["phase"], "keywords", "the latest request");
    assert!(
        pages.seen().is_empty(),
        "nothing fetched before the phase starts"
    );

    // Configure it; readiness turns true; a manual start runs it to completion.
    let http_id = http_persona(&c, &pages).await;
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"keywords": keywords(), "personaIds": [dns_id, http_id]}),
    )
    .await
    .expect(200);
    let read = c.get(&format!("/campaigns/{id}")).await.expect(200).body;
    assert_eq!(readiness(&read)["ready"], true, "{read}");
    c.post(
        &format!("/campaigns/{id}/phases/keywords/start"),
        &json!({}),
    )
    .await
    .expect(202);
    let s = c
        .wait_status(id, WAIT, |s| status_of(s, "keywords") == "completed")
        .await;
    assert_eq!(phase(&s, "keywords")["trigger"], "manual");
    assert_eq!(phase(&s, "keywords")["progress"]["done"], n);
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"keywords": {"terms": ["boots"]}}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_COMPLETED");
}

#[tokio::test]
async fn keywords_config_and_http_personas_are_checked_field_by_field() {
    let c = Client::new_user().await;
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["keywords"] = json!({"terms": ["ok", "OK", " x"], "paths": ["nope"]});
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    let fields: HashSet<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        HashSet::from([
            "config.keywords.terms[1]",
            "config.keywords.terms[2]",
            "config.keywords.paths[0]"
        ])
    );
    let r = c
        .post(
            "/personas",
            &json!({"name": "bad", "kind": "http", "enabled": true,
                    "config": {"userAgent": "", "timeoutMs": 5, "headers": {"Host": "x"}}}),
        )
        .await
        .expect_error(422, "INVALID_CONFIG");
    let fields: HashSet<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains("config.userAgent"), "{fields:?}");
    assert!(fields.contains("config.timeoutMs"), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("config.headers")),
        "{fields:?}"
    );
}
