//! The fetcher with TLS and through proxies, against real servers on 127.0.0.1: every request
//! goes through the proxy when one is set (the page server sees it come from the proxy's source
//! address, and the proxy logged it) and none when not; CONNECT and SOCKS5 are given the
//! resolved address; SNI is the domain.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::test_servers::*;
use super::tests::*;
use super::*;

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
