//! Bad bodies: 400 with the field, 413, and 422 with every bad field.

use super::*;

#[tokio::test]
async fn malformed_bodies_get_400_with_the_field() {
    let c = Client::new_user().await;
    let r = c
        .raw(
            Method::POST,
            "/campaigns",
            b"{not json".to_vec(),
            &[("content-type", "application/json")],
        )
        .await;
    r.expect_error(400, "BAD_REQUEST");
    let r = c
        .post("/campaigns", &json!({"name": 42}))
        .await
        .expect_error(400, "BAD_REQUEST");
    assert_eq!(r.body["error"]["details"][0]["field"], "name");
    let r = c
        .post("/campaigns", &json!({"name": "x", "mode": "turbo"}))
        .await
        .expect_error(400, "BAD_REQUEST");
    assert_eq!(r.body["error"]["details"][0]["field"], "mode");
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["discovery"]["patternType"] = json!("middle");
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(400, "BAD_REQUEST");
    assert_eq!(
        r.body["error"]["details"][0]["field"],
        "config.discovery.patternType"
    );
    c.post("/campaigns", &json!([1, 2]))
        .await
        .expect_error(400, "BAD_REQUEST");
    c.raw(Method::POST, "/campaigns", Vec::new(), &[])
        .await
        .expect_error(400, "BAD_REQUEST");
    // deeply nested JSON is refused, not a crash
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    c.raw(Method::POST, "/campaigns", deep.into_bytes(), &[])
        .await
        .expect_error(400, "BAD_REQUEST");
    let id = create(&c, "step_by_step", 10).await;
    c.put(&format!("/campaigns/{id}/mode"), &json!({"mode": "fast"}))
        .await
        .expect_error(400, "BAD_REQUEST");
    c.put(&format!("/campaigns/{id}/mode"), &json!({}))
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get("/campaigns?limit=0")
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get("/campaigns?limit=101")
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get("/campaigns?cursor=garbage")
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get(&format!("/campaigns/{id}/domains?cursor=x"))
        .await
        .expect_error(400, "BAD_REQUEST");
    // nothing was half-written by any of this
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn bodies_over_64_kib_get_413() {
    let c = Client::new_user().await;
    let big = json!({"name": "x".repeat(65 * 1024)});
    c.post("/campaigns", &big)
        .await
        .expect_error(413, "PAYLOAD_TOO_LARGE");
    let id = create(&c, "step_by_step", 10).await;
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"personaIds": [], "pad": "y".repeat(65 * 1024)}),
    )
    .await
    .expect_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn invalid_config_lists_every_bad_field() {
    let c = Client::new_user().await;
    let body = json!({
        "name": "",
        "config": {
            "discovery": {
                "patternType": "prefix",
                "constantString": "Shop!",
                "variableLength": 13,
                "characterSet": "a",
                "tlds": ["com", ".net", ".net"],
                "numDomains": 0
            },
            "proxyIds": [uuid::Uuid::new_v4()]
        }
    });
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    let fields: HashSet<String> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    for f in [
        "name",
        "config.discovery.constantString",
        "config.discovery.variableLength",
        "config.discovery.characterSet",
        "config.discovery.tlds[0]",
        "config.discovery.tlds[2]",
        "config.discovery.numDomains",
        "config.proxyIds[0]",
    ] {
        assert!(fields.contains(f), "{f} missing in {fields:?}");
    }
    // more domains than the pattern can make
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["discovery"]["variableLength"] = json!(1);
    body["config"]["discovery"]["numDomains"] = json!(73);
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(
        r.body["error"]["details"][0]["field"],
        "config.discovery.numDomains"
    );
    // required fields missing → 422 with each of them
    let r = c
        .post(
            "/campaigns",
            &json!({"name": "x", "config": {"discovery": {}}}),
        )
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(r.body["error"]["details"].as_array().unwrap().len(), 5);
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"],
        json!([])
    );
}
