//! The keywords phase's fetcher: for each domain that DNS validation resolved, fetch
//! `scheme://domain:port/path` for every configured path with the `http` persona, scan each page
//! (`scan.rs`) and decide the domain's [`HttpCheck`] (statuses in `fetch/result.rs`).
//!
//! Decisions (numbered for the lead's DECISIONS.md):
//! 1. **Own connections.** hyper's connection-level HTTP/1.1 client on connections this module
//!    opens (`fetch/conn.rs`): the exact address, the proxy protocol and the per-hop policy
//!    check are ours, not a pool's or a connector's. No HTTP/2 (one request at a time per
//!    domain; HTTP/1.1 is what every server speaks). A connection is reused for the next path
//!    or same-host redirect of the same domain when the answer allows it.
//! 2. **Addresses.** No DNS lookup for a domain: its requests go to the addresses validation
//!    resolved (IPv4 first, each tried in turn), with `Host` and TLS SNI = the domain. Every
//!    address connected to — the domain's, a redirect target's, the proxy's — must pass
//!    [`AddressPolicy::check`]; addresses that fail are skipped, and when none is left the
//!    result is `error: "blocked_address"` without any connection. A domain whose addresses are
//!    mixed connects only to its allowed ones.
//! 3. **Redirects** (301, 302, 303, 307, 308 with `Location`; always a GET): at most
//!    `followRedirects` are followed; one more is `error: "too_many_redirects"` (so with 0 a
//!    redirect is that error, with its `httpStatus`). Each hop is checked again: the same host
//!    uses the validated addresses, an IP literal is itself, another host is resolved through
//!    the [`HostResolver`] given (the phase should pass the campaign's DNS persona: the same
//!    resolvers validation used) and its addresses pass the policy like any other; a host that
//!    does not resolve is `unreachable` (`unresolved: …`); a `Location` that is not an http(s)
//!    URL is `error: "bad_redirect"`.
//! 4. **Proxies.** With a proxy every request goes through it (`fetch/conn.rs` has the three
//!    cases): SOCKS5 and HTTP CONNECT are given the resolved IP (the domain only travels inside
//!    the tunnel, as `Host`/SNI); a plain-http URL through an http proxy is an absolute-form
//!    request naming the domain, which the proxy resolves (naming the IP would make it rewrite
//!    `Host`). The validated address is still checked by the policy first, so a domain that
//!    resolved to a blocked address is `blocked_address` with or without a proxy. The proxy's
//!    host is resolved (same resolver) and checked once per fetcher; if it is blocked every
//!    domain is `blocked_address`, if it is unreachable every domain is `unreachable`.
//! 5. **TLS** is verified against Mozilla's roots (`webpki-root-certs`); a failure is
//!    `unreachable` (`tls: …`). Tests pass their own CA through [`FetchOptions::roots`];
//!    nothing turns verification off.
//! 6. **Limits.** `concurrency` domains at once; `rateLimitPerSecond` requests started per
//!    second over the whole fetcher (every path and redirect hop is a request), evenly spaced;
//!    `timeoutMs` per request (resolving a redirect host, connecting, TLS, the answer and its
//!    body; a time-out is `unreachable`, `timeout`); a 2xx body is read up to `maxBodyBytes`,
//!    and a longer one is cut there, still scanned, and the domain is `error` (`body_too_large`)
//!    with the hits and title of what was read — BEHAVIOUR.md lists "body over maxBodyBytes" as
//!    an `error` case and says the cut body is still scanned; `hits` shows what it held.
//!    `fetch_all` stops at its deadline: domains not finished are `error` (`deadline`).
//! 7. **Several paths.** They are fetched in order; the domain is `matched`/`no_match` only if
//!    every path gave a complete 2xx page, with hits added up over the pages and `httpStatus`,
//!    `finalUrl` of the first path. The first path that fails decides the result (its status,
//!    `httpStatus`, `finalUrl`, `error`) and the remaining paths are not fetched; hits and
//!    title of the pages before it are kept.
//! 8. **Request.** `GET` with `Host`, the persona's `User-Agent` and headers, and unless the
//!    persona sets them `Accept: text/html,…` and `Accept-Encoding: identity` (a body in an
//!    encoding this scan cannot read is `error`, `unsupported_content_encoding`).
mod conn;
mod domain;
mod request;
mod resolve;
pub mod result;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod proxy_tests;
#[cfg(any(test, feature = "testkit"))]
pub mod test_servers;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::header::{ACCEPT, ACCEPT_ENCODING, USER_AGENT};
use http::{HeaderName, HeaderValue};
use rustls::{ClientConfig, RootCertStore};
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

pub use conn::{ProxyAddress, ProxyKind};
pub use resolve::{HostResolver, StaticResolver, SystemResolver};
pub use result::{HttpCheck, HttpStatus};

use self::conn::{Failure, Route};
use self::result::*;
use super::config::{KeywordsConfig, MatchMode};
use super::persona::{HttpPersonaConfig, Scheme};
use super::scan::Matcher;
use crate::net::AddressPolicy;

/// Bodies larger than this are scanned on the blocking pool, not on a runtime worker (the
/// tokenizer reads ~20–30 MB/s: 16 KiB is under a millisecond).
const INLINE_SCAN_BYTES: usize = 16 * 1024;

/// One domain to fetch: its name and the addresses validation resolved (none: `skipped`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub domain: String,
    pub addresses: Vec<IpAddr>,
}

/// What the fetcher needs beyond the persona and the keywords config.
pub struct FetchOptions {
    /// The campaign's first enabled proxy, if any.
    pub proxy: Option<ProxyAddress>,
    /// Resolves redirect hosts and a proxy named by host (decisions 3 and 4).
    pub resolver: Arc<dyn HostResolver>,
    /// Trust anchors for TLS; `None`: Mozilla's roots. Only tests pass their own CA.
    pub roots: Option<RootCertStore>,
    /// `false` lifts the rate limit (benchmarks only).
    pub paced: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            proxy: None,
            resolver: Arc::new(SystemResolver),
            roots: None,
            paced: true,
        }
    }
}

/// Fetches and scans domains with one persona and one keywords config.
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    scheme: Scheme,
    port: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
    concurrency: usize,
    pacer: Option<Pacer>,
    max_body: usize,
    follow_redirects: u8,
    paths: Vec<String>,
    terms: Vec<String>,
    match_mode: MatchMode,
    matcher: Arc<Matcher>,
    policy: AddressPolicy,
    resolver: Arc<dyn HostResolver>,
    proxy: Option<ProxyAddress>,
    route: OnceCell<Result<Route, Failure>>,
    tls: TlsConnector,
}

/// Requests started at most once per `interval`, over every task of a fetcher.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

fn tls_config(roots: Option<RootCertStore>) -> Arc<ClientConfig> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let build = |roots: RootCertStore| {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    };
    match roots {
        Some(roots) => build(roots),
        None => DEFAULT
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec());
                build(roots)
            })
            .clone(),
    }
}

impl Fetcher {
    pub fn new(
        persona: &HttpPersonaConfig,
        keywords: &KeywordsConfig,
        policy: AddressPolicy,
        options: FetchOptions,
    ) -> Self {
        // The persona's values were checked by `HttpPersonaConfig::parse`; one that still does
        // not make a header (a stored config edited by hand) is left out rather than sent broken.
        let mut headers: Vec<(HeaderName, HeaderValue)> = persona
            .headers
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    HeaderName::from_bytes(n.as_bytes()).ok()?,
                    HeaderValue::from_str(v).ok()?,
                ))
            })
            .collect();
        if let Ok(ua) = HeaderValue::from_str(&persona.user_agent) {
            headers.insert(0, (USER_AGENT, ua));
        }
        for (name, value) in [
            (
                ACCEPT,
                "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.8",
            ),
            (ACCEPT_ENCODING, "identity"),
        ] {
            if !headers.iter().any(|(n, _)| *n == name) {
                headers.push((name, HeaderValue::from_static(value)));
            }
        }
        let rate = persona.rate_limit_per_second.max(1);
        let inner = Inner {
            scheme: persona.scheme,
            port: persona.port,
            headers,
            timeout: persona.timeout(),
            concurrency: persona.concurrency.max(1),
            pacer: options.paced.then(|| Pacer {
                interval: Duration::from_secs(1) / rate,
                next: Mutex::new(Instant::now()),
            }),
            max_body: persona.max_body_bytes,
            follow_redirects: persona.follow_redirects,
            paths: keywords.paths.clone(),
            terms: keywords.terms.clone(),
            match_mode: keywords.match_mode,
            matcher: Arc::new(Matcher::new(&keywords.terms)),
            policy,
            resolver: options.resolver,
            proxy: options.proxy,
            route: OnceCell::new(),
            tls: TlsConnector::from(tls_config(options.roots)),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Fetches one domain (no deadline but the per-request time-outs).
    pub async fn fetch(&self, target: &Target) -> HttpCheck {
        self.inner.fetch_domain(target).await
    }

    /// Fetches every domain, `concurrency` at a time, each on its own task; a domain not finished
    /// by `deadline` is `error` (`deadline`), so a chunk always ends. Results in input order.
    pub async fn fetch_all(&self, targets: &[Target], deadline: Instant) -> Vec<HttpCheck> {
        let permits = Arc::new(Semaphore::new(self.inner.concurrency));
        let mut results: Vec<Option<HttpCheck>> = vec![None; targets.len()];
        let mut tasks = JoinSet::new();
        let mut index = std::collections::HashMap::new();
        for (i, target) in targets.iter().enumerate() {
            if target.addresses.is_empty() {
                results[i] = Some(HttpCheck::skipped());
                continue;
            }
            let (inner, target, permits) = (self.inner.clone(), target.clone(), permits.clone());
            let handle = tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                inner.fetch_domain(&target).await
            });
            index.insert(handle.id(), i);
        }
        loop {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(Ok((id, check)))) => results[index[&id]] = Some(check),
                Ok(Some(Err(e))) => {
                    results[index[&e.id()]] = Some(HttpCheck::error(format!("internal: {e}")))
                }
                Ok(None) => break,
                Err(_) => {
                    tasks.abort_all();
                    break;
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| HttpCheck::error(DEADLINE)))
            .collect()
    }
}
