//! The authorizer's tests: tokens, claims, keys and the policy it answers.

use super::*;
use jsonwebtoken::{EncodingKey, Header};

const SECRET: &str = "local-dev-secret";

fn claims(extra: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({"sub": "user-1", "iss": LOCAL_ISSUER, "aud": DEFAULT_AUDIENCE, "exp": now + 600, "iat": now});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn hs(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn rs(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_der(include_bytes!("../testdata/rs256-test-key.der"));
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn event(token: Option<&str>) -> LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest> {
    let mut e =
        serde_json::from_str::<Value>(include_str!("../../../events/ws-authorizer.json")).unwrap();
    match token {
        Some(t) => {
            e["queryStringParameters"] = json!({"token": t});
            e["multiValueQueryStringParameters"] = json!({"token": [t]});
        }
        None => {
            e.as_object_mut().unwrap().remove("queryStringParameters");
            e.as_object_mut()
                .unwrap()
                .remove("multiValueQueryStringParameters");
        }
    }
    LambdaEvent::new(
        serde_json::from_value(e).unwrap(),
        lambda_runtime::Context::default(),
    )
}

#[tokio::test]
async fn a_valid_token_is_allowed_with_its_sub_in_the_context() {
    let v = Verifier::hs256(SECRET, LOCAL_ISSUER, DEFAULT_AUDIENCE);
    let response = handler(&v, event(Some(&hs(&claims(json!({})), SECRET))))
        .await
        .unwrap();
    let body = serde_json::to_value(&response).unwrap();
    assert_eq!(body["principalId"], "user-1");
    assert_eq!(body["context"], json!({"sub": "user-1"}));
    assert_eq!(body["policyDocument"]["Version"], "2012-10-17");
    let statement = &body["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], json!(["execute-api:Invoke"]));
    assert_eq!(
        statement["Resource"],
        json!(["arn:aws:execute-api:us-east-1:123456789012:w1x2y3z4a5/prod/$connect"])
    );
}

#[tokio::test]
async fn bad_tokens_are_unauthorized() {
    let v = Verifier::hs256(SECRET, LOCAL_ISSUER, DEFAULT_AUDIENCE);
    let now = chrono::Utc::now().timestamp();
    let tokens = vec![
        hs(&claims(json!({})), "wrong-secret"),
        hs(&claims(json!({"exp": now - 60})), SECRET),
        hs(&claims(json!({"iss": "someone-else"})), SECRET),
        hs(&claims(json!({"aud": "another-app"})), SECRET),
        hs(&claims(json!({"sub": null})), SECRET),
        hs(&claims(json!({"sub": ""})), SECRET),
        hs(&claims(json!({"exp": null})), SECRET),
        rs(&claims(json!({})), "test-key-1"), // RS256 where HS256 is configured
        "not-a-jwt".into(),
        String::new(),
    ];
    for t in tokens {
        let err = handler(&v, event(Some(&t))).await.unwrap_err();
        assert_eq!(err.to_string(), "Unauthorized", "{t}");
    }
    let err = handler(&v, event(None)).await.unwrap_err();
    assert_eq!(err.to_string(), "Unauthorized");
}

#[tokio::test]
async fn nbf_is_checked_when_present() {
    let v = Verifier::hs256(SECRET, LOCAL_ISSUER, DEFAULT_AUDIENCE);
    let now = chrono::Utc::now().timestamp();
    let early = hs(&claims(json!({"nbf": now + 120})), SECRET);
    assert!(
        matches!(v.verify(Some(&early)).await, Err(Reject::Unauthorized(why)) if why.contains("ImmatureSignature")),
        "a token not valid for another 2 minutes is refused"
    );
    let err = handler(&v, event(Some(&early))).await.unwrap_err();
    assert_eq!(err.to_string(), "Unauthorized");
    for nbf in [now - 60, now + 3] {
        // in the past, or within the 5 s leeway
        let t = hs(&claims(json!({"nbf": nbf})), SECRET);
        assert_eq!(v.verify(Some(&t)).await, Ok("user-1".into()), "nbf {nbf}");
    }
}

#[tokio::test]
async fn jwks_mode_accepts_the_issuers_keys_and_access_tokens_client_id() {
    let set: JwkSet = serde_json::from_str(include_str!("../testdata/jwks.json")).unwrap();
    let issuer = "https://issuer.example.com/pool";
    let v = Verifier::with_jwks(set, issuer, "client-123");
    let id_token = claims(json!({"iss": issuer, "aud": "client-123"}));
    assert_eq!(
        v.verify(Some(&rs(&id_token, "test-key-1"))).await,
        Ok("user-1".into())
    );
    let access_token = claims(json!({"iss": issuer, "aud": null, "client_id": "client-123"}));
    assert_eq!(
        v.verify(Some(&rs(&access_token, "test-key-1"))).await,
        Ok("user-1".into())
    );
    let list_aud = claims(json!({"iss": issuer, "aud": ["x", "client-123"]}));
    assert_eq!(
        v.verify(Some(&rs(&list_aud, "test-key-1"))).await,
        Ok("user-1".into())
    );

    for (token, why) in [
        (rs(&id_token, "other-key"), "unknown key id"),
        (
            rs(
                &claims(json!({"iss": issuer, "aud": "someone-else"})),
                "test-key-1",
            ),
            "wrong audience",
        ),
        (
            rs(&claims(json!({"aud": "client-123"})), "test-key-1"),
            "wrong issuer",
        ),
        // an HMAC token must not be verified with a public key
        (hs(&id_token, "whatever"), "unexpected algorithm"),
    ] {
        assert!(
            matches!(v.verify(Some(&token)).await, Err(Reject::Unauthorized(_))),
            "{why}"
        );
    }
}

#[tokio::test]
async fn without_keys_everything_is_denied() {
    let v = Verifier::unconfigured();
    let response = handler(&v, event(Some(&hs(&claims(json!({})), SECRET))))
        .await
        .unwrap();
    let body = serde_json::to_value(&response).unwrap();
    assert_eq!(body["policyDocument"]["Statement"][0]["Effect"], "Deny");
}
