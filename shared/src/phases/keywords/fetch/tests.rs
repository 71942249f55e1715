//! The fetcher against real servers on 127.0.0.1 (`test_servers.rs`): every status of the
//! contract, paths, redirects and policies, limits and the deadline. TLS and proxies:
//! `proxy_tests.rs`; concurrency, rate, deadline and kept-alive connections: `limit_tests.rs`.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::test_servers::*;
use super::*;
use crate::phases::keywords::config::KeywordsInput;

pub(super) const MATCH_HTML: &str = "<html><head><title>Running Shoes Store</title></head><body><p>Big SALE on running shoes</p></body></html>";

pub(super) fn loopback() -> AddressPolicy {
    AddressPolicy::parse("127.0.0.0/8").unwrap()
}

pub(super) fn localhost() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

pub(super) fn persona(extra: serde_json::Value) -> HttpPersonaConfig {
    let mut config = json!({"userAgent": "KeywordsTest/1.0", "scheme": "http",
        "headers": {"X-Campaign": "kw"}, "timeoutMs": 1000});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    HttpPersonaConfig::parse(config.as_object().unwrap(), "config", &loopback()).unwrap()
}

pub(super) fn keywords(v: serde_json::Value) -> KeywordsConfig {
    serde_json::from_value::<KeywordsInput>(v)
        .unwrap()
        .validate("config.keywords")
        .unwrap()
}

pub(super) fn target(domain: &str, ip: &str) -> Target {
    Target {
        domain: domain.into(),
        addresses: vec![ip.parse().unwrap()],
    }
}

pub(super) fn hits(pairs: &[(&str, u32)]) -> Option<BTreeMap<String, u32>> {
    Some(pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect())
}

/// The page server with one of every case of the contract (`PORT` in a `Location` is its own
/// port).
pub(super) async fn pages() -> PageServer {
    let big = format!(
        "<title>Big page</title><p>sale</p>{}<p>shoes</p>",
        "<p>filler text</p>".repeat(200)
    );
    let pages = vec![
        ("match.test", "/", Page::html(MATCH_HTML)),
        (
            "match.test",
            "/about",
            Page::html("<p>more running shoes</p>"),
        ),
        (
            "nomatch.test",
            "/",
            Page::html("<title>Nothing</title><p>Hello</p>"),
        ),
        (
            "redirect.test",
            "/",
            Page::redirect(301, "http://match.test:PORT/"),
        ),
        ("same.test", "/", Page::redirect(302, "/landing")),
        ("same.test", "/landing", Page::html("<p>sale</p>")),
        ("error.test", "/", Page::status(500)),
        (
            "slow.test",
            "/",
            Page::html(MATCH_HTML).slow(Duration::from_secs(3)),
        ),
        ("big.test", "/", Page::html(&big)),
        (
            "meta.test",
            "/",
            Page::redirect(302, "http://169.254.169.254/latest/meta-data/"),
        ),
        ("loop.test", "/", Page::redirect(302, "/")),
        (
            "away.test",
            "/",
            Page::redirect(302, "http://nowhere.test:PORT/"),
        ),
        ("ftp.test", "/", Page::redirect(302, "ftp://files.test/")),
        (
            "next.test",
            "/",
            Page::redirect(307, "http://127.0.0.2:PORT/"),
        ),
        (
            "gzip.test",
            "/",
            Page::html("sale").with_header("content-encoding", "gzip"),
        ),
        (
            "plain.test",
            "/",
            Page {
                headers: vec![("content-type", "text/plain".into())],
                ..Page::html("<b>sale</b>")
            },
        ),
    ];
    PageServer::start(pages, None).await
}

pub(super) fn resolver() -> Arc<dyn HostResolver> {
    Arc::new(StaticResolver::new([("match.test", localhost())]))
}

pub(super) fn options() -> FetchOptions {
    FetchOptions {
        resolver: resolver(),
        ..FetchOptions::default()
    }
}

#[tokio::test]
async fn every_status_of_the_contract() {
    let server = pages().await;
    let port = server.addr.port();
    let p = persona(json!({"port": port, "maxBodyBytes": 1024, "timeoutMs": 500}));
    let k = keywords(json!({"terms": ["sale", "running shoes", "absent"]}));
    let fetcher = Fetcher::new(&p, &k, loopback(), options());
    let local = |d: &str| target(d, "127.0.0.1");
    let targets = vec![
        local("match.test"),
        local("nomatch.test"),
        local("redirect.test"),
        local("same.test"),
        local("error.test"),
        local("slow.test"),
        local("big.test"),
        local("meta.test"),
        local("loop.test"),
        local("away.test"),
        local("ftp.test"),
        target("private.test", "10.0.0.1"),
        target("down.test", "127.0.0.3"),
        Target {
            domain: "unresolved.test".into(),
            addresses: vec![],
        },
        local("gzip.test"),
        local("plain.test"),
    ];
    let started = Instant::now();
    let results = fetcher
        .fetch_all(&targets, Instant::now() + Duration::from_secs(20))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the slow page timed out at 500 ms"
    );
    let api: Vec<serde_json::Value> = results.iter().map(HttpCheck::to_api).collect();
    let url = |host: &str, path: &str| format!("http://{host}:{port}{path}");
    let expected = vec![
        json!({"status": "matched", "httpStatus": 200, "finalUrl": url("match.test", "/"),
               "title": "Running Shoes Store", "hits": {"sale": 1, "running shoes": 2}}),
        json!({"status": "no_match", "httpStatus": 200, "finalUrl": url("nomatch.test", "/"),
               "title": "Nothing", "hits": {}}),
        json!({"status": "matched", "httpStatus": 200, "finalUrl": url("match.test", "/"),
               "title": "Running Shoes Store", "hits": {"sale": 1, "running shoes": 2}}),
        json!({"status": "matched", "httpStatus": 200, "finalUrl": url("same.test", "/landing"),
               "hits": {"sale": 1}}),
        json!({"status": "error", "httpStatus": 500, "finalUrl": url("error.test", "/")}),
        json!({"status": "unreachable", "finalUrl": url("slow.test", "/"), "error": "timeout"}),
        json!({"status": "error", "httpStatus": 200, "finalUrl": url("big.test", "/"),
               "title": "Big page", "hits": {"sale": 1}, "error": "body_too_large"}),
        json!({"status": "error", "finalUrl": "http://169.254.169.254/latest/meta-data/",
               "error": "blocked_address"}),
        json!({"status": "error", "httpStatus": 302, "finalUrl": url("loop.test", "/"),
               "error": "too_many_redirects"}),
        json!({"status": "unreachable", "finalUrl": url("nowhere.test", "/"),
               "error": "unresolved: nowhere.test: no address"}),
        json!({"status": "error", "httpStatus": 302, "finalUrl": url("ftp.test", "/"),
               "error": "bad_redirect"}),
        json!({"status": "error", "finalUrl": url("private.test", "/"), "error": "blocked_address"}),
        api[12].clone(),
        json!({"status": "skipped"}),
        json!({"status": "error", "httpStatus": 200, "finalUrl": url("gzip.test", "/"),
               "error": "unsupported_content_encoding: gzip"}),
        json!({"status": "matched", "httpStatus": 200, "finalUrl": url("plain.test", "/"),
               "hits": {"sale": 1}}),
    ];
    for (i, (got, want)) in api.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "{}", targets[i].domain);
    }
    assert_eq!(api[12]["status"], "unreachable");
    assert!(
        api[12]["error"]
            .as_str()
            .unwrap()
            .starts_with("connect: 127.0.0.3:"),
        "{}",
        api[12]
    );

    let seen = server.seen();
    assert!(
        seen.iter()
            .all(|s| s.host != "private.test" && s.host != "unresolved.test")
    );
    assert_eq!(
        seen.iter().filter(|s| s.host == "loop.test").count(),
        4,
        "1 + 3 redirects"
    );
    for s in &seen {
        assert_eq!(s.peer, localhost(), "direct: no proxy in between");
        assert_eq!(s.headers["user-agent"], "KeywordsTest/1.0");
        assert_eq!(s.headers["x-campaign"], "kw");
        assert_eq!(s.headers["accept-encoding"], "identity");
        assert_eq!(s.headers["host"], format!("{}:{port}", s.host));
    }
}

#[tokio::test]
async fn paths_add_up_and_the_first_failing_path_decides() {
    let server = pages().await;
    let port = server.addr.port();
    let p = persona(json!({"port": port}));
    let all =
        keywords(json!({"terms": ["sale", "shoes"], "paths": ["/", "/about"], "match": "all"}));
    let fetcher = Fetcher::new(&p, &all, loopback(), options());
    let check = fetcher.fetch(&target("match.test", "127.0.0.1")).await;
    assert_eq!(check.status, HttpStatus::Matched);
    assert_eq!(
        check.hits,
        hits(&[("sale", 1), ("shoes", 3)]),
        "title and both pages"
    );
    assert_eq!(
        check.final_url.as_deref(),
        Some(&*format!("http://match.test:{port}/"))
    );
    assert_eq!(
        server.connections(),
        1,
        "both paths on one kept-alive connection"
    );

    let missing = keywords(
        json!({"terms": ["sale", "absent"], "match": "all", "paths": ["/", "/missing", "/about"]}),
    );
    let fetcher = Fetcher::new(&p, &missing, loopback(), options());
    let check = fetcher.fetch(&target("match.test", "127.0.0.1")).await;
    assert_eq!(check.status, HttpStatus::Error);
    assert_eq!(check.http_status, Some(404));
    assert_eq!(check.title.as_deref(), Some("Running Shoes Store"));
    assert_eq!(
        check.hits,
        hits(&[("sale", 1)]),
        "hits of the page before the failure"
    );
    let about = |server: &PageServer| {
        server
            .seen()
            .iter()
            .filter(|s| s.host == "match.test" && s.path == "/about")
            .count()
    };
    assert_eq!(
        about(&server),
        1,
        "paths after the failing one are not fetched"
    );

    let any_none = keywords(json!({"terms": ["sale", "absent"], "match": "all"}));
    let check = Fetcher::new(&p, &any_none, loopback(), options())
        .fetch(&target("match.test", "127.0.0.1"))
        .await;
    assert_eq!(check.status, HttpStatus::NoMatch, "all: one term missing");
    assert_eq!(check.hits, hits(&[("sale", 1)]));
}

#[tokio::test]
async fn redirect_limits_and_narrow_policies() {
    let server = pages().await;
    let port = server.addr.port();
    let k = keywords(json!({"terms": ["sale"]}));
    let none = Fetcher::new(
        &persona(json!({"port": port, "followRedirects": 0})),
        &k,
        loopback(),
        options(),
    );
    let check = none.fetch(&target("redirect.test", "127.0.0.1")).await;
    assert_eq!(
        (check.status, check.http_status, check.error.as_deref()),
        (HttpStatus::Error, Some(301), Some("too_many_redirects"))
    );
    // Only 127.0.0.1 allowed: a redirect to 127.0.0.2 is refused before connecting.
    let narrow = AddressPolicy::parse("127.0.0.1/32").unwrap();
    let fetcher = Fetcher::new(&persona(json!({"port": port})), &k, narrow, options());
    let before = server.seen().len();
    let check = fetcher.fetch(&target("next.test", "127.0.0.1")).await;
    assert_eq!(check.error.as_deref(), Some("blocked_address"));
    assert_eq!(
        check.final_url.as_deref(),
        Some(&*format!("http://127.0.0.2:{port}/"))
    );
    assert_eq!(
        server.seen().len(),
        before + 1,
        "only the first hop reached a server"
    );
    // With no private range allowed, even the first hop is refused.
    let strict = Fetcher::new(
        &persona(json!({"port": port})),
        &k,
        AddressPolicy::default(),
        options(),
    );
    let check = strict.fetch(&target("match.test", "127.0.0.1")).await;
    assert_eq!(check.error.as_deref(), Some("blocked_address"));
    assert_eq!(server.seen().len(), before + 1);
    // Mixed addresses: only the allowed one is connected to.
    let mixed = Target {
        domain: "match.test".into(),
        addresses: vec!["10.1.2.3".parse().unwrap(), localhost()],
    };
    let check = Fetcher::new(&persona(json!({"port": port})), &k, loopback(), options())
        .fetch(&mixed)
        .await;
    assert_eq!(check.status, HttpStatus::Matched);
}
