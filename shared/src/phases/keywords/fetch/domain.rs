//! One domain's work for the fetcher: its paths in order, each path's requests and redirects
//! (every hop's address checked, the proxy route resolved once), the scan of each page, and the
//! domain's result from them (decisions 2, 3, 6, 7 and 8 of `fetch.rs`).
use std::net::{IpAddr, SocketAddr};

use http::Request;
use http::header::HOST;
use http_body_util::Empty;
use hyper::body::Bytes;
use url::{Host, Position, Url};

use super::conn::{self, Failure, Route};
use super::request::{self, Answer, Conn, ConnKey};
use super::result::*;
use super::{INLINE_SCAN_BYTES, Inner, Target};
use crate::net::AddressPolicy;
use crate::phases::keywords::config::MatchMode;
use crate::phases::keywords::persona::Scheme;
use crate::phases::keywords::scan::extract;

/// How one path ended.
enum PathOutcome {
    Page {
        http_status: u16,
        url: String,
        title: Option<String>,
        hits: Vec<u32>,
        truncated: bool,
    },
    Failed {
        failure: Failure,
        url: String,
    },
}

impl Inner {
    pub(super) async fn fetch_domain(&self, target: &Target) -> HttpCheck {
        if target.addresses.is_empty() {
            return HttpCheck::skipped();
        }
        let mut totals = vec![0u32; self.terms.len()];
        let mut scanned = false;
        let mut title: Option<String> = None;
        let mut first: Option<(u16, String)> = None;
        let mut conn: Option<Conn> = None;
        for path in &self.paths {
            let outcome = match self.start_url(&target.domain, path) {
                Ok(url) => self.fetch_path(target, url, &mut conn).await,
                Err(url) => PathOutcome::Failed {
                    failure: Failure::error(BAD_URL),
                    url,
                },
            };
            match outcome {
                PathOutcome::Page {
                    http_status,
                    url,
                    title: page_title,
                    hits,
                    truncated,
                } => {
                    scanned = true;
                    for (t, h) in totals.iter_mut().zip(hits) {
                        *t += h;
                    }
                    if title.is_none() {
                        title = page_title;
                    }
                    if truncated {
                        let mut check = HttpCheck::new(HttpStatus::Error)
                            .with_url(&url)
                            .with_error(BODY_TOO_LARGE);
                        check.http_status = Some(http_status);
                        return self.finish(check, title, scanned.then_some(&totals));
                    }
                    first.get_or_insert((http_status, url));
                }
                PathOutcome::Failed { failure, url } => {
                    let mut check = HttpCheck::new(failure.status).with_url(&url);
                    check.http_status = failure.http_status;
                    if let Some(e) = failure.error {
                        check = check.with_error(e);
                    }
                    return self.finish(check, title, scanned.then_some(&totals));
                }
            }
        }
        let found = match self.match_mode {
            MatchMode::Any => totals.iter().any(|n| *n > 0),
            MatchMode::All => totals.iter().all(|n| *n > 0),
        };
        let (http_status, url) = first.unwrap_or_default();
        let status = if found {
            HttpStatus::Matched
        } else {
            HttpStatus::NoMatch
        };
        let mut check = HttpCheck::new(status).with_url(&url);
        check.http_status = Some(http_status);
        self.finish(check, title, Some(&totals))
    }

    fn finish(
        &self,
        mut check: HttpCheck,
        title: Option<String>,
        hits: Option<&Vec<u32>>,
    ) -> HttpCheck {
        check.title = title;
        check.hits = hits.map(|counts| {
            self.terms
                .iter()
                .zip(counts)
                .filter(|(_, n)| **n > 0)
                .map(|(t, n)| (t.clone(), *n))
                .collect()
        });
        check
    }

    /// `scheme://domain:port/path`, or the text that did not parse.
    fn start_url(&self, domain: &str, path: &str) -> Result<Url, String> {
        let text = format!(
            "{}://{}:{}{}",
            self.scheme.as_str(),
            domain,
            self.port,
            path
        );
        Url::parse(&text).map_err(|_| text)
    }

    /// One path: its requests and redirects, then the scan of the page.
    async fn fetch_path(
        &self,
        target: &Target,
        start: Url,
        conn: &mut Option<Conn>,
    ) -> PathOutcome {
        let mut url = start;
        let mut redirects = 0u8;
        loop {
            if let Some(pacer) = &self.pacer {
                pacer.wait().await;
            }
            let answer =
                match tokio::time::timeout(self.timeout, self.hop(target, &url, conn)).await {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(failure)) => return failed(failure, &url),
                    Err(_) => {
                        *conn = None;
                        return failed(Failure::unreachable(TIMEOUT), &url);
                    }
                };
            let code = answer.status;
            let redirect = matches!(code, 301 | 302 | 303 | 307 | 308);
            if let (true, Some(location)) = (redirect, &answer.location) {
                if redirects >= self.follow_redirects {
                    return failed(Failure::http(code, Some(TOO_MANY_REDIRECTS)), &url);
                }
                match url.join(location) {
                    Ok(next)
                        if matches!(next.scheme(), "http" | "https") && next.host().is_some() =>
                    {
                        url = next;
                        redirects += 1;
                        continue;
                    }
                    _ => return failed(Failure::http(code, Some(BAD_REDIRECT)), &url),
                }
            }
            if !(200..300).contains(&code) {
                return failed(Failure::http(code, None), &url);
            }
            if let Some(enc) = answer.content_encoding.as_deref().map(str::trim)
                && !enc.is_empty()
                && !enc.eq_ignore_ascii_case("identity")
            {
                return failed(
                    Failure::http(code, Some(&format!("{UNSUPPORTED_ENCODING}: {enc}"))),
                    &url,
                );
            }
            let (title, hits) = self.scan(answer.body, answer.content_type).await;
            return PathOutcome::Page {
                http_status: code,
                url: url.to_string(),
                title,
                hits,
                truncated: answer.truncated,
            };
        }
    }

    async fn scan(
        &self,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> (Option<String>, Vec<u32>) {
        let matcher = self.matcher.clone();
        let inline = body.len() <= INLINE_SCAN_BYTES;
        let work = move || {
            let page = extract(&body, content_type.as_deref());
            let hits = matcher.count_page(&page);
            (page.title, hits)
        };
        if inline {
            return work();
        }
        match tokio::task::spawn_blocking(work).await {
            Ok(done) => done,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// The proxy route, resolved and checked once.
    async fn route(&self) -> Result<Route, Failure> {
        let Some(proxy) = &self.proxy else {
            return Ok(Route::Direct);
        };
        self.route
            .get_or_init(|| async {
                let ips = match proxy.host.parse::<IpAddr>() {
                    Ok(ip) => vec![ip],
                    Err(_) => self.resolver.resolve(&proxy.host).await.map_err(|e| {
                        Failure::unreachable(format!("proxy: unresolved: {}: {e}", proxy.host))
                    })?,
                };
                let allowed = allowed(&self.policy, &ips, proxy.port);
                if allowed.is_empty() {
                    return Err(Failure::blocked());
                }
                Ok(Route::Proxy(proxy.kind, allowed))
            })
            .await
            .clone()
    }

    /// One request: where to (checked), on a reused or new connection.
    async fn hop(
        &self,
        target: &Target,
        url: &Url,
        conn: &mut Option<Conn>,
    ) -> Result<Answer, Failure> {
        let scheme = if url.scheme() == "https" {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let port = url.port_or_known_default().unwrap_or(scheme.default_port());
        let (host, sni, ips) = match url.host() {
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                let ips = if d == target.domain.trim_end_matches('.').to_ascii_lowercase() {
                    target.addresses.clone()
                } else {
                    self.resolver
                        .resolve(&d)
                        .await
                        .map_err(|e| Failure::unreachable(format!("unresolved: {d}: {e}")))?
                };
                (d.clone(), d, ips)
            }
            Some(Host::Ipv4(ip)) => (ip.to_string(), ip.to_string(), vec![IpAddr::V4(ip)]),
            Some(Host::Ipv6(ip)) => (format!("[{ip}]"), ip.to_string(), vec![IpAddr::V6(ip)]),
            None => return Err(Failure::error(BAD_URL)),
        };
        let targets = allowed(&self.policy, &ips, port);
        if targets.is_empty() {
            return Err(Failure::blocked());
        }
        let route = self.route().await?;
        let key = ConnKey { scheme, host, port };
        if let Some(mut reused) = conn.take().filter(|c| c.key == key) {
            // A kept-alive connection the server closed meanwhile fails before any answer: the
            // GET is then sent again on a new connection.
            if let Ok((answer, reusable)) = reused
                .exchange(self.request(url, reused.absolute_form)?, self.max_body)
                .await
            {
                *conn = reusable.then_some(reused);
                return Ok(answer);
            }
        }
        let opened = conn::open(&route, scheme, &sni, &targets, &self.tls).await?;
        let mut fresh = request::handshake(opened, key).await?;
        let (answer, reusable) = fresh
            .exchange(self.request(url, fresh.absolute_form)?, self.max_body)
            .await?;
        *conn = reusable.then_some(fresh);
        Ok(answer)
    }

    fn request(&self, url: &Url, absolute_form: bool) -> Result<Request<Empty<Bytes>>, Failure> {
        let target = if absolute_form {
            &url[..Position::AfterQuery]
        } else {
            &url[Position::BeforePath..Position::AfterQuery]
        };
        let authority = &url[Position::BeforeHost..Position::AfterPort];
        let mut builder = Request::get(target).header(HOST, authority);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Empty::new())
            .map_err(|e| Failure::error(format!("{BAD_URL}: {e}")))
    }
}

fn failed(failure: Failure, url: &Url) -> PathOutcome {
    PathOutcome::Failed {
        failure,
        url: url.to_string(),
    }
}

/// The addresses of `ips` at `port` the policy allows, IPv4 first.
fn allowed(policy: &AddressPolicy, ips: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = ips
        .iter()
        .map(|ip| SocketAddr::new(*ip, port))
        .filter(|a| policy.check(*a).is_ok())
        .collect();
    out.sort_by_key(|a| a.is_ipv6());
    out.dedup();
    out
}
