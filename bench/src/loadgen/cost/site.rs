//! The outside world of the cost run, on 127.0.0.1: a DNS server (the DNS persona's resolver)
//! under which `resolved_percent` % of the generated domains resolve (to 127.0.0.1; the rest are
//! NXDOMAIN), and a page server answering each resolved domain with a small HTML page, every
//! other one containing the keywords. The local stack allows 127.0.0.0/8
//! (`ALLOWED_PRIVATE_CIDRS`), as for the keywords tests.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use campaign_shared::phases::keywords::fetch::test_servers::{Page, PageServer};
use integration_tests::dns::{Mode, TestDns};
use integration_tests::generated_domains;
use serde_json::{Value, json};

pub struct Site {
    pub dns: TestDns,
    pub pages: PageServer,
    /// Domains that resolve (of each campaign's `domains`).
    pub resolved: usize,
    pub domains: usize,
}

const MATCHING: &str = "<html><head><title>Shoes &amp; more</title></head>\
    <body><h1>Running shoes</h1><p>Big SALE on running shoes.</p></body></html>";
const NOT_MATCHING: &str = "<html><head><title>Parked</title></head>\
    <body><p>This domain may be for sale.</p></body></html>";

impl Site {
    /// Every campaign generates the same `domains` names (the same discovery config), so one
    /// zone and one set of pages serve them all.
    pub async fn start(domains: usize, resolved_percent: usize) -> Self {
        let names = generated_domains(domains);
        let resolving: Vec<&String> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 100 < resolved_percent)
            .map(|(_, d)| d)
            .collect();
        let zone: HashMap<String, Ipv4Addr> = resolving
            .iter()
            .map(|d| ((*d).clone(), Ipv4Addr::LOCALHOST))
            .collect();
        let dns = TestDns::start(zone, Mode::Answer).await;
        let pages: Vec<(&str, &str, Page)> = resolving
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let body = if i % 2 == 0 { MATCHING } else { NOT_MATCHING };
                (d.as_str(), "/", Page::html(body))
            })
            .collect();
        let pages = PageServer::start(pages, None).await;
        Self {
            dns,
            pages,
            resolved: resolving.len(),
            domains,
        }
    }

    /// `POST /personas` body of the DNS persona (the phase's defaults for time-out and rate).
    pub fn dns_persona(&self) -> Value {
        json!({"name": "cost resolver", "kind": "dns", "enabled": true, "config": {
            "resolvers": [self.dns.addr.to_string()], "timeoutMs": 2000, "concurrency": 32,
            "rateLimitPerSecond": 5000
        }})
    }

    /// `POST /personas` body of the HTTP persona.
    pub fn http_persona(&self) -> Value {
        json!({"name": "cost browser", "kind": "http", "enabled": true, "config": {
            "userAgent": "CampaignBot/1.0 (+cost run)", "scheme": "http",
            "port": self.pages.addr.port(), "timeoutMs": 3000, "concurrency": 16,
            "rateLimitPerSecond": 1000, "maxBodyBytes": 65536, "followRedirects": 2
        }})
    }
}

/// The campaigns' `config.keywords`.
pub fn keywords() -> Value {
    json!({"terms": ["running shoes", "sale"], "paths": ["/"], "match": "any"})
}
