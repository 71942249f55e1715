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

#[tokio::test]
async fn full_auto_runs_keywords_after_validation_with_every_outcome_exact() {
    let n = 60usize;
    let site = Site::new(n);
    let dns = TestDns::start(site.zone(), Mode::Answer).await;
    let pages = site.pages().await;
    // A proxy that exists but is not configured: it must carry nothing.
    let idle_proxy = Proxy::http(proxy_hosts(&site, &pages)).await;
    let c = Client::new_user().await;
    let personas = [dns_persona(&c, &dns).await, http_persona(&c, &pages).await];
    let mut body = campaign_body("full_sequence", n as u64);
    body["config"]["personaIds"] = json!(personas);
    body["config"]["keywords"] = keywords();
    let created = c.create_campaign(&body).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["config"]["keywords"], keywords());
    let s = c
        .wait_status(id, WAIT, |s| status_of(s, "keywords") == "completed")
        .await;
    let k = phase(&s, "keywords");
    assert_eq!(k["trigger"], "auto", "Full Auto advanced to keywords");
    assert_eq!(k["autoStart"]["status"], "started");
    assert_eq!(k["progress"], json!({"done": n, "total": n}));
    let (matched, no_match) = (
        site.with(Kind::Match).len() + site.with(Kind::RedirectToMatch).len(),
        site.with(Kind::NoMatch).len(),
    );
    let errors = site.with(Kind::ServerError).len() + site.with(Kind::Big).len() + 1;
    let unreachable = site.with(Kind::Slow).len();
    let skipped = n - site.kinds.len() - 1;
    assert_eq!(
        k["summary"],
        json!({"matched": matched, "no_match": no_match, "error": errors, "unreachable": unreachable, "skipped": skipped})
    );

    // Each status lists exactly its domains, each with what the contract promises.
    let want_matched: HashSet<String> = site
        .with(Kind::Match)
        .union(&site.with(Kind::RedirectToMatch))
        .cloned()
        .collect();
    assert_eq!(names(&c, id, "matched").await, want_matched);
    assert_eq!(names(&c, id, "no_match").await, site.with(Kind::NoMatch));
    assert_eq!(names(&c, id, "unreachable").await, site.with(Kind::Slow));
    let mut want_errors: HashSet<String> = site
        .with(Kind::ServerError)
        .union(&site.with(Kind::Big))
        .cloned()
        .collect();
    want_errors.insert(site.blocked.clone());
    assert_eq!(names(&c, id, "error").await, want_errors);
    assert_eq!(listed(&c, id, "skipped").await.len(), skipped);

    for d in listed(&c, id, "matched").await {
        let (domain, http) = (d["domain"].as_str().unwrap(), &d["http"]);
        assert_eq!(http["httpStatus"], 200, "{d}");
        assert_eq!(http["hits"], json!({"running shoes": 2, "sale": 1}), "{d}");
        assert_eq!(http["title"], "Shoes & more", "{d}");
        assert_eq!(d["dns"]["status"], "resolved", "{d}");
        let landing = format!("http://{LANDING}:{}/", pages.addr.port());
        if site.kinds[domain] == Kind::RedirectToMatch {
            assert_eq!(http["finalUrl"], landing, "{d}");
        } else {
            assert_ne!(http["finalUrl"], landing, "{d}");
        }
    }
    for d in listed(&c, id, "error").await {
        let (domain, http) = (d["domain"].as_str().unwrap(), &d["http"]);
        if domain == site.blocked {
            assert_eq!(http["error"], "blocked_address", "{d}");
        } else if site.kinds[domain] == Kind::Big {
            assert_eq!(http["error"], "body_too_large", "{d}");
            assert_eq!(
                http["hits"],
                json!({"sale": 1}),
                "the cut body is still scanned: {d}"
            );
        } else {
            assert_eq!(http["httpStatus"], 500, "{d}");
        }
    }
    for d in listed(&c, id, "unreachable").await {
        assert_eq!(d["http"]["error"], "timeout", "{d}");
    }
    for d in listed(&c, id, "skipped").await {
        assert_eq!(d["http"], json!({"status": "skipped"}), "{d}");
    }

    // The requests: direct (never through the idle proxy), with the persona's headers, only to
    // resolved, allowed domains.
    let seen = pages.seen();
    assert_eq!(idle_proxy.carried(), 0);
    assert!(seen.iter().all(|r| r.peer == IpAddr::V4(LOCALHOST)));
    assert!(seen.iter().all(|r| {
        r.headers["user-agent"] == USER_AGENT && r.headers["x-campaign-test"] == "yes"
    }));
    let hosts: HashSet<String> = seen.iter().map(|r| r.host.clone()).collect();
    let mut want_hosts: HashSet<String> = site.kinds.keys().cloned().collect();
    want_hosts.insert(LANDING.into());
    assert_eq!(
        hosts, want_hosts,
        "every resolved domain and the redirect target, nothing else"
    );
}

#[tokio::test]
async fn with_a_proxy_every_fetch_goes_through_it() {
    let n = 30usize;
    let site = Site::new(n);
    let dns = TestDns::start(site.zone(), Mode::Answer).await;
    let pages = site.pages().await;
    let proxy = Proxy::http(proxy_hosts(&site, &pages)).await;
    let c = Client::new_user().await;
    let personas = [dns_persona(&c, &dns).await, http_persona(&c, &pages).await];
    let proxy_id = create_id(
        &c,
        "/proxies",
        json!({"address": format!("http://{}", proxy.addr), "enabled": true}),
    )
    .await;
    let mut body = campaign_body("full_sequence", n as u64);
    body["config"]["personaIds"] = json!(personas);
    body["config"]["proxyIds"] = json!([proxy_id]);
    body["config"]["keywords"] = keywords();
    let id = c.create_campaign(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = c
        .wait_status(&id, WAIT, |s| status_of(s, "keywords") == "completed")
        .await;
    assert_eq!(phase(&s, "keywords")["progress"]["done"], n);
    let seen = pages.seen();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|r| r.peer.to_string() == "127.0.0.2"),
        "every request came from the proxy's onward address"
    );
    assert_eq!(proxy.carried(), seen.len(), "{:?}", proxy.log());
    assert_eq!(
        names(&c, &id, "matched").await.len(),
        site.with(Kind::Match).len() + site.with(Kind::RedirectToMatch).len()
    );
}

#[tokio::test]
async fn full_auto_stops_visibly_before_an_unconfigured_keywords_phase_and_a_manual_start_finishes()
{
    let n = 30usize;
    let site = Site::new(n);
    let dns = TestDns::start(site.zone(), Mode::Answer).await;
    let pages = site.pages().await;
    let c = Client::new_user().await;
    let dns_id = dns_persona(&c, &dns).await;
    let mut body = campaign_body("full_sequence", n as u64);
    body["config"]["personaIds"] = json!([dns_id]);
    let created = c.create_campaign(&body).await;
    let id = created["id"].as_str().unwrap();
    let readiness = |b: &Value| {
        b["readiness"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["phase"] == "keywords")
            .cloned()
            .unwrap()
    };
    let read = c.get(&format!("/campaigns/{id}")).await.expect(200).body;
    let before = readiness(&read);
    assert_eq!(before["ready"], false);
    let fields: HashSet<&str> = before["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        HashSet::from(["config.keywords", "config.personaIds"])
    );

    let s = c
        .wait_status(id, WAIT, |s| {
            phase(s, "keywords")["autoStart"]["status"] == "failed"
        })
        .await;
    assert_eq!(status_of(&s, "validation"), "completed");
    assert_eq!(status_of(&s, "keywords"), "not_started");
    let error = &phase(&s, "keywords")["autoStart"]["error"];
    assert_eq!(error["code"], "INVALID_CONFIG", "{error}");
    assert_eq!(s["autoStart"]["phase"], "keywords", "the latest request");
    assert!(
        pages.seen().is_empty(),
        "nothing fetched before the phase starts"
    );

    // Configure it; readiness turns true; a manual start runs it to completion.
    let http_id = http_persona(&c, &pages).await;
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"keywords": keywords(), "personaIds": [dns_id, http_id]}),
    )
    .await
    .expect(200);
    let read = c.get(&format!("/campaigns/{id}")).await.expect(200).body;
    assert_eq!(readiness(&read)["ready"], true, "{read}");
    c.post(
        &format!("/campaigns/{id}/phases/keywords/start"),
        &json!({}),
    )
    .await
    .expect(202);
    let s = c
        .wait_status(id, WAIT, |s| status_of(s, "keywords") == "completed")
        .await;
    assert_eq!(phase(&s, "keywords")["trigger"], "manual");
    assert_eq!(phase(&s, "keywords")["progress"]["done"], n);
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"keywords": {"terms": ["boots"]}}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_COMPLETED");
}

#[tokio::test]
async fn keywords_config_and_http_personas_are_checked_field_by_field() {
    let c = Client::new_user().await;
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["keywords"] = json!({"terms": ["ok", "OK", " x"], "paths": ["nope"]});
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    let fields: HashSet<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        HashSet::from([
            "config.keywords.terms[1]",
            "config.keywords.terms[2]",
            "config.keywords.paths[0]"
        ])
    );
    let r = c
        .post(
            "/personas",
            &json!({"name": "bad", "kind": "http", "enabled": true,
                    "config": {"userAgent": "", "timeoutMs": 5, "headers": {"Host": "x"}}}),
        )
        .await
        .expect_error(422, "INVALID_CONFIG");
    let fields: HashSet<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains("config.userAgent"), "{fields:?}");
    assert!(fields.contains("config.timeoutMs"), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("config.headers")),
        "{fields:?}"
    );
}
