//! The authorizer against a real (tiny) OpenID issuer on 127.0.0.1, started by each test: key
//! rotation (a new `kid` accepted after a refresh, the old one until a refresh no longer lists
//! it, periodic refresh) and an issuer that is down at the cold start and comes back (denials
//! with backoff, then recovery without a restart). No external network.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use ws_authorizer::{JwksPolicy, Reject, Verifier, handler};

const AUDIENCE: &str = "client-123";
const KEY_1: &[u8] = include_bytes!("../testdata/rs256-test-key.der");
const KEY_2: &[u8] = include_bytes!("../testdata/rs256-test-key-2.der");

fn jwk_1() -> Value {
    let set: Value = serde_json::from_str(include_str!("../testdata/jwks.json")).unwrap();
    set["keys"][0].clone()
}

fn jwk_2() -> Value {
    serde_json::from_str(include_str!("../testdata/jwk-2.json")).unwrap()
}

/// An issuer serving `/.well-known/openid-configuration` and `/jwks` (whatever `keys` holds at
/// the time of the request), counting the JWKS requests. Dropping it stops it.
struct Issuer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_requests: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Issuer {
    fn start(addr: SocketAddr, keys: Vec<Value>) -> Self {
        let listener = TcpListener::bind(addr).expect("bind the test issuer");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let keys = Arc::new(Mutex::new(keys));
        let jwks_requests = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (keys, count, stop, url) = (
                keys.clone(),
                jwks_requests.clone(),
                stop.clone(),
                url.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((mut socket, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    };
                    socket.set_nonblocking(false).unwrap();
                    let mut request_line = String::new();
                    let mut reader = BufReader::new(socket.try_clone().unwrap());
                    if reader.read_line(&mut request_line).is_err() {
                        continue;
                    }
                    // Skip the headers (GET requests have no body).
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let path = request_line.split_whitespace().nth(1).unwrap_or_default();
                    let (status, body) = match path {
                        "/.well-known/openid-configuration" => (
                            "200 OK",
                            json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}),
                        ),
                        "/jwks" => {
                            count.fetch_add(1, Ordering::SeqCst);
                            ("200 OK", json!({"keys": *keys.lock().unwrap()}))
                        }
                        _ => ("404 Not Found", json!({})),
                    };
                    let body = body.to_string();
                    let _ = write!(
                        socket,
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            })
        };
        Self {
            url,
            keys,
            jwks_requests,
            stop,
            thread: Some(thread),
        }
    }

    fn serve(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    fn jwks_requests(&self) -> u32 {
        self.jwks_requests.load(Ordering::SeqCst)
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn token(issuer: &str, kid: &str, key: &[u8]) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims =
        json!({"sub": "user-1", "iss": issuer, "aud": AUDIENCE, "exp": now + 600, "iat": now});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(key)).unwrap()
}

fn client() -> reqwest::Client {
    // Straight to 127.0.0.1, whatever proxy the environment names.
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn policy(max_age_ms: u64) -> JwksPolicy {
    JwksPolicy {
        max_age: Duration::from_millis(max_age_ms),
        unknown_kid_interval: Duration::ZERO,
        backoff_initial: Duration::from_millis(300),
        backoff_max: Duration::from_millis(300),
        request_timeout: Duration::from_secs(2),
    }
}

fn unauthorized(r: Result<String, Reject>) -> bool {
    matches!(r, Err(Reject::Unauthorized(_)))
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_a_refresh_and_the_old_one_until_it_is_removed() {
    let issuer = Issuer::start("127.0.0.1:0".parse().unwrap(), vec![jwk_1()]);
    let url = issuer.url.clone();
    let v = Verifier::from_issuer(&url, AUDIENCE, policy(3_000), Some(client()));
    // Signed up front: RSA signing is slow in an unoptimized test build, the steps below are timed.
    let old = token(&url, "test-key-1", KEY_1);
    let new = token(&url, "test-key-2", KEY_2);
    let forged = token(&url, "test-key-2", KEY_1);
    assert_eq!(
        issuer.jwks_requests(),
        0,
        "nothing is fetched before the first connection"
    );

    assert_eq!(v.verify(Some(&old)).await, Ok("user-1".into()));
    assert!(
        unauthorized(v.verify(Some(&new)).await),
        "key 2 is not published yet"
    );
    assert_eq!(issuer.jwks_requests(), 2, "first use, then the unknown kid");

    // The issuer publishes key 2 beside key 1 and starts signing with it.
    issuer.serve(vec![jwk_1(), jwk_2()]);
    assert_eq!(
        v.verify(Some(&new)).await,
        Ok("user-1".into()),
        "unknown kid -> refresh -> accepted"
    );
    assert_eq!(issuer.jwks_requests(), 3);
    assert_eq!(
        v.verify(Some(&old)).await,
        Ok("user-1".into()),
        "the old key is still listed"
    );
    assert_eq!(v.verify(Some(&new)).await, Ok("user-1".into()));
    assert_eq!(
        issuer.jwks_requests(),
        3,
        "known keys within max_age: no fetch"
    );
    // A token claiming key 2 but signed with key 1 is not accepted.
    assert!(unauthorized(v.verify(Some(&forged)).await));

    // Key 1 is withdrawn: it stays valid until a refresh no longer lists it.
    issuer.serve(vec![jwk_2()]);
    assert_eq!(
        v.verify(Some(&old)).await,
        Ok("user-1".into()),
        "not refreshed yet"
    );
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert!(
        unauthorized(v.verify(Some(&old)).await),
        "max_age passed -> refreshed -> key 1 gone"
    );
    assert_eq!(issuer.jwks_requests(), 4, "the periodic refresh");
    assert_eq!(v.verify(Some(&new)).await, Ok("user-1".into()));
    assert_eq!(v.jwks_status().await.unwrap().keys, 1);
}

#[tokio::test]
async fn an_issuer_down_at_the_cold_start_is_retried_with_backoff_and_recovers() {
    // A port with nothing listening: the issuer is down.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}");
    let v = Verifier::from_issuer(&url, AUDIENCE, policy(600_000), Some(client()));
    let t = token(&url, "test-key-1", KEY_1);

    let first = v.verify(Some(&t)).await;
    assert!(matches!(first, Err(Reject::Unavailable(_))), "{first:?}");
    // What API Gateway gets: an error that is NOT "Unauthorized" (-> 500, retry), no Allow.
    let err = handler(&v, event(&t)).await.unwrap_err().to_string();
    assert!(err.starts_with("signing keys unavailable"), "{err}");
    assert_eq!(
        v.jwks_status().await.unwrap().attempts,
        1,
        "inside the backoff nothing is fetched: requests fail fast"
    );

    // The issuer comes back on the same address; after the backoff the next connection fetches.
    let issuer = Issuer::start(addr, vec![jwk_1()]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        v.verify(Some(&t)).await,
        Ok("user-1".into()),
        "recovered without a restart"
    );
    let status = v.jwks_status().await.unwrap();
    assert_eq!((status.attempts, status.failures, status.keys), (2, 0, 1));
    assert_eq!(issuer.jwks_requests(), 1);
    let allowed = handler(&v, event(&t)).await.unwrap();
    assert_eq!(
        serde_json::to_value(&allowed).unwrap()["policyDocument"]["Statement"][0]["Effect"],
        "Allow"
    );

    // Down again later: the keys already fetched keep working (a failed refresh keeps them).
    drop(issuer);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let unknown = token(&url, "test-key-2", KEY_2);
    assert!(
        unauthorized(v.verify(Some(&unknown)).await),
        "refresh fails, kid still unknown"
    );
    assert_eq!(v.jwks_status().await.unwrap().failures, 1);
    assert_eq!(
        v.verify(Some(&t)).await,
        Ok("user-1".into()),
        "old keys survive the outage"
    );
}

fn event(token: &str) -> LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest> {
    let mut e: Value =
        serde_json::from_str(include_str!("../../../events/ws-authorizer.json")).unwrap();
    e["queryStringParameters"] = json!({"token": token});
    e["multiValueQueryStringParameters"] = json!({"token": [token]});
    LambdaEvent::new(
        serde_json::from_value(e).unwrap(),
        lambda_runtime::Context::default(),
    )
}
