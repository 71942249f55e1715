//! The fetcher against real servers on 127.0.0.1 (`test_servers.rs`).
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::test_servers::*;
use super::*;
use crate::phases::keywords::config::KeywordsInput;

const MATCH_HTML: &str = "<html><head><title>Running Shoes Store</title></head><body><p>Big SALE on running shoes</p></body></html>";

fn loopback() -> AddressPolicy {
    AddressPolicy::parse("127.0.0.0/8").unwrap()
}

fn localhost() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn persona(extra: serde_json::Value) -> HttpPersonaConfig {
    let mut config = json!({"userAgent": "KeywordsTest/1.0", "scheme": "http",
        "headers": {"X-Campaign": "kw"}, "timeoutMs": 1000});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    HttpPersonaConfig::parse(config.as_object().unwrap(), "config", &loopback()).unwrap()
}

fn keywords(v: serde_json::Value) -> KeywordsConfig {
    serde_json::from_value::<KeywordsInput>(v)
        .unwrap()
        .validate("config.keywords")
        .unwrap()
}

fn target(domain: &str, ip: &str) -> Target {
    Target {
        domain: domain.into(),
        addresses: vec![ip.parse().unwrap()],
    }
}

fn hits(pairs: &[(&str, u32)]) -> Option<BTreeMap<String, u32>> {
    Some(pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect())
}

/// The page server with one of every case of the contract (`PORT` in a `Location` is its own
/// port).
async fn pages() -> PageServer {
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

fn resolver() -> Arc<dyn HostResolver> {
    Arc::new(StaticResolver::new([("match.test", localhost())]))
}

fn options() -> FetchOptions {
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

/// A page server with TLS (a test CA) and the same pages.
async fn tls_pages() -> (PageServer, TestCa) {
    let ca = test_ca(&["match.test", "same.test"]);
    let server = PageServer::start(
        vec![
            ("match.test", "/", Page::html(MATCH_HTML)),
            (
                "match.test",
                "/about",
                Page::html("<p>more running shoes</p>"),
            ),
            ("same.test", "/", Page::redirect(301, "/landing")),
            ("same.test", "/about", Page::html("<p>about</p>")),
            ("same.test", "/landing", Page::html("<p>sale</p>")),
        ],
        Some(ca.server.clone()),
    )
    .await;
    (server, ca)
}

#[tokio::test]
async fn https_verifies_certificates_and_sends_sni() {
    let (server, ca) = tls_pages().await;
    let port = server.addr.port();
    let p = persona(json!({"scheme": "https", "port": port}));
    let k = keywords(json!({"terms": ["sale"]}));
    let trusted = Fetcher::new(
        &p,
        &k,
        loopback(),
        FetchOptions {
            roots: Some(ca.roots.clone()),
            ..options()
        },
    );
    let check = trusted.fetch(&target("match.test", "127.0.0.1")).await;
    assert_eq!(check.status, HttpStatus::Matched, "{check:?}");
    assert_eq!(
        check.final_url.as_deref(),
        Some(&*format!("https://match.test:{port}/"))
    );
    let check = trusted.fetch(&target("same.test", "127.0.0.1")).await;
    assert_eq!(check.status, HttpStatus::Matched, "{check:?}");
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.sni.as_deref() == Some(&*s.host))
    );

    // Mozilla's roots do not know the test CA.
    let public = Fetcher::new(&p, &k, loopback(), options());
    let check = public.fetch(&target("match.test", "127.0.0.1")).await;
    assert_eq!(check.status, HttpStatus::Unreachable);
    assert!(
        check.error.as_deref().unwrap().starts_with("tls: "),
        "{check:?}"
    );
    // A name the certificate does not cover.
    let check = trusted.fetch(&target("other.test", "127.0.0.1")).await;
    assert_eq!(check.status, HttpStatus::Unreachable);
    assert!(
        check.error.as_deref().unwrap().starts_with("tls: "),
        "{check:?}"
    );
}

fn proxy_hosts(port: u16) -> HashMap<String, SocketAddr> {
    ["match.test", "same.test", "nomatch.test"]
        .iter()
        .map(|h| (h.to_string(), SocketAddr::new(localhost(), port)))
        .collect()
}

/// Fetches `domains` through `proxy` (or directly) and returns the results.
async fn fetch_via(
    p: &HttpPersonaConfig,
    proxy: Option<ProxyAddress>,
    roots: Option<rustls::RootCertStore>,
    domains: &[&str],
) -> Vec<HttpCheck> {
    let k = keywords(json!({"terms": ["sale"], "paths": ["/", "/about"]}));
    let fetcher = Fetcher::new(
        p,
        &k,
        loopback(),
        FetchOptions {
            proxy,
            roots,
            ..options()
        },
    );
    let targets: Vec<Target> = domains.iter().map(|d| target(d, "127.0.0.1")).collect();
    fetcher
        .fetch_all(&targets, Instant::now() + Duration::from_secs(20))
        .await
}

#[tokio::test]
async fn every_fetch_goes_through_the_proxy_when_one_is_set() {
    let server = pages().await;
    let port = server.addr.port();
    let p = persona(json!({"port": port}));
    let http = Proxy::http(proxy_hosts(port)).await;
    let socks = Proxy::socks5(proxy_hosts(port)).await;
    let domains = ["match.test", "same.test", "nomatch.test"];

    let direct = fetch_via(&p, None, None, &domains).await;
    assert_eq!(
        (http.carried(), socks.carried()),
        (0, 0),
        "no proxy set: none used"
    );
    let direct_seen = server.seen().len();
    assert!(server.seen().iter().all(|s| s.peer == localhost()));

    let via_http = fetch_via(
        &p,
        Some(format!("http://{}", http.addr).parse().unwrap()),
        None,
        &domains,
    )
    .await;
    assert_eq!(via_http, direct, "the same results through the proxy");
    let seen = server.seen();
    let proxied = &seen[direct_seen..];
    assert_eq!(proxied.len(), direct_seen);
    assert!(
        proxied.iter().all(|s| s.peer.to_string() == PROXY_SOURCE),
        "every request came from the proxy"
    );
    let log = http.log();
    assert_eq!(
        log.forwarded.len(),
        proxied.len(),
        "one absolute-form request per request seen"
    );
    assert!(log.tunnels.is_empty());
    assert!(
        log.forwarded
            .contains(&format!("http://match.test:{port}/"))
    );

    let via_socks = fetch_via(
        &p,
        Some(format!("socks5://{}", socks.addr).parse().unwrap()),
        None,
        &domains,
    )
    .await;
    assert_eq!(via_socks, direct);
    let seen = server.seen();
    let proxied = &seen[2 * direct_seen..];
    assert!(proxied.iter().all(|s| s.peer.to_string() == PROXY_SOURCE));
    let log = socks.log();
    assert!(!log.tunnels.is_empty());
    assert!(
        log.tunnels
            .iter()
            .all(|t| *t == format!("127.0.0.1:{port}")),
        "SOCKS5 is given the resolved address, never the name: {log:?}"
    );
    assert!(server.connections() > 0);
}

#[tokio::test]
async fn https_goes_through_connect_and_socks5_to_the_resolved_address() {
    let (server, ca) = tls_pages().await;
    let port = server.addr.port();
    let p = persona(json!({"scheme": "https", "port": port}));
    let http = Proxy::http(proxy_hosts(port)).await;
    let socks = Proxy::socks5(proxy_hosts(port)).await;
    let domains = ["match.test", "same.test"];
    let direct = fetch_via(&p, None, Some(ca.roots.clone()), &domains).await;
    assert!(
        direct.iter().all(|c| c.status == HttpStatus::Matched),
        "{direct:?}"
    );
    let direct_connections = server.connections();

    for (proxy, address) in [
        (&http, format!("http://{}", http.addr)),
        (&socks, format!("socks5://{}", socks.addr)),
    ] {
        let before = server.connections();
        let results = fetch_via(
            &p,
            Some(address.parse().unwrap()),
            Some(ca.roots.clone()),
            &domains,
        )
        .await;
        assert_eq!(results, direct);
        let log = proxy.log();
        assert_eq!(
            log.tunnels.len(),
            server.connections() - before,
            "every connection was a tunnel"
        );
        assert!(
            log.tunnels
                .iter()
                .all(|t| *t == format!("127.0.0.1:{port}")),
            "{log:?}"
        );
    }
    let seen = server.seen();
    let tunnelled = seen
        .iter()
        .filter(|s| s.peer.to_string() == PROXY_SOURCE)
        .count();
    assert_eq!(
        tunnelled,
        2 * (seen.len() - tunnelled),
        "twice the direct requests, all tunnelled"
    );
    assert!(
        seen.iter().all(|s| s.sni.as_deref() == Some(&*s.host)),
        "SNI is the domain"
    );
    assert!(direct_connections > 0);
}

#[tokio::test]
async fn a_blocked_or_dead_proxy_fails_every_domain() {
    let server = pages().await;
    let port = server.addr.port();
    let p = persona(json!({"port": port}));
    let k = keywords(json!({"terms": ["sale"]}));
    // The proxy listens on 127.0.0.2; only 127.0.0.1 is allowed.
    let proxy = Proxy::start("127.0.0.2:0", proxy_hosts(port), false).await;
    let narrow = AddressPolicy::parse("127.0.0.1/32").unwrap();
    let fetcher = Fetcher::new(
        &p,
        &k,
        narrow,
        FetchOptions {
            proxy: Some(format!("http://{}", proxy.addr).parse().unwrap()),
            ..options()
        },
    );
    let results = fetcher
        .fetch_all(
            &[
                target("match.test", "127.0.0.1"),
                target("nomatch.test", "127.0.0.1"),
            ],
            Instant::now() + Duration::from_secs(5),
        )
        .await;
    assert!(
        results
            .iter()
            .all(|r| r.error.as_deref() == Some("blocked_address")),
        "{results:?}"
    );
    assert_eq!(proxy.carried(), 0);
    assert!(server.seen().is_empty(), "nothing went direct instead");

    // A proxy named by host, resolved by the resolver given; and a dead one.
    let named = Proxy::http(proxy_hosts(port)).await;
    let resolver = Arc::new(StaticResolver::new([("proxy.test", localhost())]));
    let fetcher = Fetcher::new(
        &p,
        &k,
        loopback(),
        FetchOptions {
            proxy: Some(
                format!("http://proxy.test:{}", named.addr.port())
                    .parse()
                    .unwrap(),
            ),
            resolver,
            ..FetchOptions::default()
        },
    );
    assert_eq!(
        fetcher
            .fetch(&target("match.test", "127.0.0.1"))
            .await
            .status,
        HttpStatus::Matched
    );
    assert_eq!(named.carried(), 1);
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fetcher = Fetcher::new(
        &p,
        &k,
        loopback(),
        FetchOptions {
            proxy: Some(format!("socks5://127.0.0.1:{dead_port}").parse().unwrap()),
            ..options()
        },
    );
    let check = fetcher.fetch(&target("match.test", "127.0.0.1")).await;
    assert_eq!(check.status, HttpStatus::Unreachable);
    assert!(
        check
            .error
            .as_deref()
            .unwrap()
            .starts_with("proxy: connect:"),
        "{check:?}"
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
