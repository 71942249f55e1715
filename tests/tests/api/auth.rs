//! Tokens, and owner isolation: another user's resources are 404 everywhere.

use super::*;

#[tokio::test]
async fn health_needs_no_token() {
    let r = Client::anonymous().get("/health").await.expect(200);
    assert_eq!(r.body, json!({"status": "ok"}));
    assert!(r.header("x-correlation-id").is_some());
}

#[tokio::test]
async fn missing_bad_expired_and_forged_tokens_get_401() {
    let now = chrono::Utc::now().timestamp();
    let good = json!({"sub": "mallory", "iss": "campaign-autostart-local", "aud": "campaign-autostart", "exp": now + 600});
    let mut expired = good.clone();
    expired["exp"] = json!(now - 10);
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("someone-else");
    let mut no_sub = good.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    // alg "none": header {"alg":"none"} with no signature
    let none_alg = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(good.to_string().as_bytes())
    );
    let tokens = vec![
        sign(&good, "wrong-secret"),
        sign(&expired, LOCAL_SECRET),
        sign(&wrong_iss, LOCAL_SECRET),
        sign(&no_sub, LOCAL_SECRET),
        none_alg,
        "not-a-jwt".to_string(),
    ];
    let r = Client::anonymous().get("/campaigns").await;
    r.expect_error(401, "UNAUTHORIZED");
    for t in tokens {
        let r = Client::with_token(&t).get("/campaigns").await;
        assert!(r.body["error"]["correlationId"].is_string());
        r.expect_error(401, "UNAUTHORIZED");
    }
    // the same claims, properly signed, are accepted
    Client::with_token(&sign(&good, LOCAL_SECRET))
        .get("/campaigns")
        .await
        .expect(200);
}

fn base64url(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn another_users_resources_are_404_everywhere() {
    let alice = Client::new_user().await;
    let bob = Client::new_user().await;
    let id = create(&alice, "step_by_step", 10).await;
    let persona = alice
        .post(
            "/personas",
            &json!({"name": "p", "kind": "http", "config": {"userAgent": "ua"}}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let proxy = alice
        .post("/proxies", &json!({"address": "http://10.0.0.1:8080"}))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cid = format!("/campaigns/{id}");
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, cid.clone(), None),
        (Method::GET, format!("{cid}/status"), None),
        (Method::GET, format!("{cid}/domains"), None),
        (
            Method::PUT,
            format!("{cid}/mode"),
            Some(json!({"mode": "full_sequence"})),
        ),
        (
            Method::PUT,
            format!("{cid}/config"),
            Some(json!({"personaIds": []})),
        ),
        (Method::POST, format!("{cid}/phases/discovery/start"), None),
        (Method::DELETE, cid.clone(), None),
        (Method::GET, format!("/personas/{persona}"), None),
        (
            Method::PATCH,
            format!("/personas/{persona}"),
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, format!("/personas/{persona}"), None),
        (Method::GET, format!("/proxies/{proxy}"), None),
        (
            Method::PATCH,
            format!("/proxies/{proxy}"),
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, format!("/proxies/{proxy}"), None),
    ];
    for (m, path, body) in attempts {
        let r = bob.send(m.clone(), &path, body.as_ref(), &[]).await;
        assert_eq!(r.status.as_u16(), 404, "{m} {path}: {}", r.body);
        assert_eq!(r.code(), "NOT_FOUND");
    }
    // bob cannot reference alice's persona either
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["personaIds"] = json!([persona]);
    let r = bob
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(
        r.body["error"]["details"][0]["field"],
        "config.personaIds[0]"
    );
    // and lists are per owner
    assert_eq!(
        bob.get("/campaigns").await.expect(200).body["items"],
        json!([])
    );
    assert_eq!(
        bob.get("/personas").await.expect(200).body["items"],
        json!([])
    );
    // nothing changed for alice
    let a = alice.get(&cid).await.expect(200);
    assert_eq!(a.body["version"], 1);
    assert_eq!(
        alice
            .get(&format!("/personas/{persona}"))
            .await
            .expect(200)
            .body["enabled"],
        true
    );
}
