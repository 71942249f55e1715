//! The fetcher's limits against real servers on 127.0.0.1: concurrency, the per-domain rate, the
//! chunk's deadline, and a kept-alive connection the server closed.
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::test_servers::*;
use super::tests::*;
use super::*;

#[tokio::test]
async fn concurrency_rate_and_deadline() {
    let slow_page = Page::html("<p>sale</p>").slow(Duration::from_millis(150));
    let domains: Vec<String> = (0..12).map(|i| format!("d{i}.test")).collect();
    let server = PageServer::start(
        domains
            .iter()
            .map(|d| (d.as_str(), "/", slow_page.clone()))
            .collect(),
        None,
    )
    .await;
    let port = server.addr.port();
    let k = keywords(json!({"terms": ["sale"]}));
    let targets: Vec<Target> = domains.iter().map(|d| target(d, "127.0.0.1")).collect();

    let p = persona(json!({"port": port, "concurrency": 3, "rateLimitPerSecond": 1000}));
    let results = Fetcher::new(&p, &k, loopback(), options())
        .fetch_all(&targets, Instant::now() + Duration::from_secs(20))
        .await;
    assert!(results.iter().all(|r| r.status == HttpStatus::Matched));
    assert_eq!(
        server.max_in_flight(),
        3,
        "exactly `concurrency` requests at once"
    );

    let fast: Vec<Target> = targets.iter().take(10).cloned().collect();
    let quick = PageServer::start(
        domains
            .iter()
            .map(|d| (d.as_str(), "/", Page::html("sale")))
            .collect(),
        None,
    )
    .await;
    let p =
        persona(json!({"port": quick.addr.port(), "concurrency": 10, "rateLimitPerSecond": 20}));
    let started = Instant::now();
    let results = Fetcher::new(&p, &k, loopback(), options())
        .fetch_all(&fast, Instant::now() + Duration::from_secs(20))
        .await;
    let took = started.elapsed();
    assert!(results.iter().all(|r| r.status == HttpStatus::Matched));
    assert!(
        took >= Duration::from_millis(440),
        "10 requests at 20/s take 450 ms: {took:?}"
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");

    let stuck = PageServer::start(
        domains
            .iter()
            .map(|d| {
                (
                    d.as_str(),
                    "/",
                    Page::html("sale").slow(Duration::from_secs(5)),
                )
            })
            .collect(),
        None,
    )
    .await;
    let p = persona(json!({"port": stuck.addr.port(), "timeoutMs": 30000, "concurrency": 4}));
    let started = Instant::now();
    let results = Fetcher::new(&p, &k, loopback(), options())
        .fetch_all(&targets, Instant::now() + Duration::from_millis(300))
        .await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(results.len(), 12);
    assert!(
        results.iter().all(|r| *r == HttpCheck::error("deadline")),
        "{results:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_closed_by_the_server_is_replaced() {
    // Answers one request per connection without saying `Connection: close`, then hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<p>sale</p>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(answer.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    let k = keywords(json!({"terms": ["sale"], "paths": ["/", "/a", "/b"]}));
    let check = Fetcher::new(&persona(json!({"port": port})), &k, loopback(), options())
        .fetch(&target("close.test", "127.0.0.1"))
        .await;
    server.abort();
    assert_eq!(check.status, HttpStatus::Matched, "{check:?}");
    assert_eq!(check.hits, hits(&[("sale", 3)]));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
}
