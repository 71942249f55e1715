//! The keywords phase (HTTP fetch and page scan of every resolved domain) against real servers the
//! tests start on 127.0.0.1: a DNS server (the DNS persona's resolver), a page server answering
//! per `Host` (a match, a redirect to a match, a 500, a page slower than the time-out, a body over
//! `maxBodyBytes`, a page without the terms) and an HTTP forward proxy that logs what it carried.
//! The local stack allows `127.0.0.0/8` (ALLOWED_PRIVATE_CIDRS); 10.0.0.0/8 stays blocked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use campaign_shared::phases::keywords::fetch::test_servers::{Page, PageServer, Proxy};
use integration_tests::dns::{Mode, TestDns};
use integration_tests::*;
use serde_json::{Value, json};

mod config;
mod outcomes;

const WAIT: Duration = Duration::from_secs(90);
const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// A redirect target outside the generated domains, resolved through the DNS persona.
const LANDING: &str = "landing.test";
const USER_AGENT: &str = "CampaignBot/1.0 (+tests)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Match,
    NoMatch,
    ServerError,
    RedirectToMatch,
    Slow,
    Big,
}

const KINDS: [Kind; 6] = [
    Kind::Match,
    Kind::NoMatch,
    Kind::ServerError,
    Kind::RedirectToMatch,
    Kind::Slow,
    Kind::Big,
];

fn status_of(s: &Value, name: &str) -> String {
    phase(s, name)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every third generated domain resolves to 127.0.0.1 and gets a page kind in turn; domain 1
/// resolves to a blocked address.
struct Site {
    kinds: BTreeMap<String, Kind>,
    blocked: String,
}

impl Site {
    fn new(n: usize) -> Self {
        let domains = generated_domains(n);
        let kinds = domains
            .iter()
            .step_by(3)
            .enumerate()
            .map(|(j, d)| (d.clone(), KINDS[j % KINDS.len()]))
            .collect();
        Self {
            blocked: domains[1].clone(),
            kinds,
        }
    }

    fn zone(&self) -> HashMap<String, Ipv4Addr> {
        let mut zone: HashMap<String, Ipv4Addr> =
            self.kinds.keys().map(|d| (d.clone(), LOCALHOST)).collect();
        zone.insert(LANDING.into(), LOCALHOST);
        zone.insert(self.blocked.clone(), Ipv4Addr::new(10, 0, 0, 7));
        zone
    }

    fn with(&self, kind: Kind) -> HashSet<String> {
        self.kinds
            .iter()
            .filter(|(_, k)| **k == kind)
            .map(|(d, _)| d.clone())
            .collect()
    }

    async fn pages(&self) -> PageServer {
        let matching = "<html><head><title>Shoes &amp; more</title></head>\
            <body><h1>Running shoes</h1><p>Big SALE on running shoes.</p>\
            <script>var sale = 'not visible text';</script></body></html>";
        let mut pages: Vec<(&str, &str, Page)> = vec![(LANDING, "/", Page::html(matching))];
        let big = format!(
            "<title>Huge</title><p>sale</p>{}",
            "<p>filler</p>".repeat(200)
        );
        for (domain, kind) in &self.kinds {
            let page = match kind {
                Kind::Match => Page::html(matching),
                Kind::NoMatch => Page::html("<title>Nothing</title><p>Nothing for you here.</p>"),
                Kind::ServerError => Page::status(500),
                Kind::RedirectToMatch => Page::redirect(302, &format!("http://{LANDING}:PORT/")),
                Kind::Slow => Page::html(matching).slow(Duration::from_secs(3)),
                Kind::Big => Page::html(&big),
            };
            pages.push((domain.as_str(), "/", page));
        }
        PageServer::start(pages, None).await
    }
}

async fn create_id(c: &Client, path: &str, body: Value) -> String {
    c.post(path, &body).await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn dns_persona(c: &Client, dns: &TestDns) -> String {
    let config = json!({"resolvers": [dns.addr.to_string()], "timeoutMs": 1000, "concurrency": 32, "rateLimitPerSecond": 5000});
    create_id(
        c,
        "/personas",
        json!({"name": "resolver", "kind": "dns", "enabled": true, "config": config}),
    )
    .await
}

async fn http_persona(c: &Client, pages: &PageServer) -> String {
    let config = json!({
        "userAgent": USER_AGENT, "headers": {"X-Campaign-Test": "yes"},
        "scheme": "http", "port": pages.addr.port(), "timeoutMs": 700,
        "concurrency": 8, "rateLimitPerSecond": 1000, "maxBodyBytes": 1024, "followRedirects": 2
    });
    create_id(
        c,
        "/personas",
        json!({"name": "browser", "kind": "http", "enabled": true, "config": config}),
    )
    .await
}

fn keywords() -> Value {
    json!({"terms": ["running shoes", "sale"], "paths": ["/"], "match": "any"})
}

async fn listed(c: &Client, id: &str, status: &str) -> Vec<Value> {
    c.all_pages(&format!(
        "/campaigns/{id}/domains?status={status}&limit=1000"
    ))
    .await
}

async fn names(c: &Client, id: &str, status: &str) -> HashSet<String> {
    listed(c, id, status)
        .await
        .iter()
        .map(|d| d["domain"].as_str().unwrap().to_string())
        .collect()
}

fn proxy_hosts(site: &Site, pages: &PageServer) -> HashMap<String, SocketAddr> {
    site.zone().into_keys().map(|d| (d, pages.addr)).collect()
}
