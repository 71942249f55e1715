//! Micro-benchmark (ignored; run it in release; `BENCH_PAGE_ITEMS` (default 30) sizes the page):
//! `cargo test -p campaign-shared --profile local-release keywords::fetch::bench -- --ignored --nocapture`
//!
//! Domains per second at concurrency 64 against a local page server (any `Host`, one ~4 KiB
//! page), for the fetcher (`fetch_all`: policy, pacing off, URL handling, the page scan, results)
//! and for a raw loop with the same HTTP client (`conn::open`, hyper's HTTP/1.1 handshake, a GET,
//! reading the body; 64 at a time), without and with the same page scan. Each variant runs
//! `ROUNDS` times in turn; the best round counts. `BENCH_DOMAINS` sets the number of domains.
//! Beside wall-clock throughput it prints the process CPU time per domain (Linux
//! `/proc/self/stat`; the page server runs in the same process, the same for every variant),
//! which a busy machine disturbs less than the wall clock.
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http::header::{HOST, USER_AGENT};
use http_body_util::Empty;
use hyper::body::Bytes;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::conn::{self, Route};
use super::request::{self, ConnKey};
use super::test_servers::{Page, PageServer};
use super::*;
use crate::phases::keywords::config::KeywordsInput;
use crate::phases::keywords::scan::extract;

const CONCURRENCY: usize = 64;
const ROUNDS: usize = 5;

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after_name
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in ticks.
    (fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// The best wall time and the least CPU time over the rounds of one variant.
#[derive(Clone, Copy)]
struct Best {
    wall: f64,
    cpu: f64,
}

impl Best {
    fn new() -> Self {
        Self {
            wall: f64::MAX,
            cpu: f64::MAX,
        }
    }

    fn add(&mut self, wall: Duration, cpu: f64) {
        self.wall = self.wall.min(wall.as_secs_f64());
        self.cpu = self.cpu.min(cpu);
    }
}

fn page_html(items: usize) -> String {
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=utf-8><title>Shop &amp; more</title>\
         <style>body{font:14px sans-serif}.p{margin:0}</style>\
         <script>window.dataLayer=[];function t(a){return a<2}</script></head><body>",
    );
    for i in 0..items {
        html.push_str(&format!(
            "<div class=\"p\"><a href=\"/p/{i}\">Item {i}</a> <span>running shoes</span> on sale</div>\n"
        ));
    }
    html.push_str("</body></html>");
    html
}

async fn raw_round(
    addr: std::net::SocketAddr,
    domains: &[String],
    scan: Option<Arc<Matcher>>,
) -> (Duration, usize) {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let tls = TlsConnector::from(tls_config(None));
    let mut tasks = JoinSet::new();
    for domain in domains {
        let (permits, domain, tls, scan) =
            (permits.clone(), domain.clone(), tls.clone(), scan.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let opened = conn::open(&Route::Direct, Scheme::Http, &domain, &[addr], &tls)
                .await
                .ok()?;
            let key = ConnKey {
                scheme: Scheme::Http,
                host: domain.clone(),
                port: addr.port(),
            };
            let mut c = request::handshake(opened, key).await.ok()?;
            let req = Request::get("/")
                .header(HOST, format!("{domain}:{}", addr.port()))
                .header(USER_AGENT, "bench")
                .body(Empty::<Bytes>::new())
                .ok()?;
            let (answer, _) = c.exchange(req, 256 * 1024).await.ok()?;
            if let Some(m) = scan {
                let page = extract(&answer.body, answer.content_type.as_deref());
                std::hint::black_box(m.count_page(&page));
            }
            (answer.status == 200).then_some(())
        });
    }
    let mut ok = 0;
    while let Some(done) = tasks.join_next().await {
        ok += usize::from(matches!(done, Ok(Some(()))));
    }
    (started.elapsed(), ok)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn fetch_throughput_vs_raw_loop() {
    let n: usize = std::env::var("BENCH_DOMAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let items: usize = std::env::var("BENCH_PAGE_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let html = page_html(items);
    let server = PageServer::start_with(vec![], None, Page::html(&html)).await;
    let addr = server.addr;
    let domains: Vec<String> = (0..n).map(|i| format!("d{i}.bench.test")).collect();
    let targets: Vec<Target> = domains
        .iter()
        .map(|d| Target {
            domain: d.clone(),
            addresses: vec![addr.ip()],
        })
        .collect();
    let persona_json = serde_json::json!({"userAgent": "bench", "scheme": "http",
        "port": addr.port(), "concurrency": CONCURRENCY, "rateLimitPerSecond": 1000});
    let persona = HttpPersonaConfig::parse(
        persona_json.as_object().unwrap(),
        "config",
        &AddressPolicy::default(),
    )
    .unwrap();
    let keywords = serde_json::from_value::<KeywordsInput>(
        serde_json::json!({"terms": ["running shoes", "sale", "absent", "item 7"]}),
    )
    .unwrap()
    .validate("k")
    .unwrap();
    let matcher = Arc::new(Matcher::new(&keywords.terms));
    let fetcher = Fetcher::new(
        &persona,
        &keywords,
        AddressPolicy::parse("127.0.0.0/8").unwrap(),
        FetchOptions {
            paced: false,
            ..FetchOptions::default()
        },
    );
    println!(
        "page {} bytes, {n} domains, concurrency {CONCURRENCY}, best of {ROUNDS}",
        html.len()
    );
    // The scan alone, on one thread.
    let started = std::time::Instant::now();
    let mut reps = 0u32;
    while started.elapsed() < Duration::from_millis(500) {
        std::hint::black_box(extract(html.as_bytes(), Some("text/html")));
        reps += 1;
    }
    let extract_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(reps);
    let page = extract(html.as_bytes(), Some("text/html"));
    let started = std::time::Instant::now();
    let mut reps = 0u32;
    while started.elapsed() < Duration::from_millis(500) {
        std::hint::black_box(matcher.count_page(&page));
        reps += 1;
    }
    let count_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(reps);
    println!(
        "scan of one page: extract {extract_us:.1} µs ({:.0} MB/s), count {count_us:.1} µs",
        html.len() as f64 / extract_us
    );
    // Warm-up.
    let _ = raw_round(addr, &domains[..n.min(500)], None).await;
    let (mut raw, mut raw_scan, mut ours) = (Best::new(), Best::new(), Best::new());
    for _ in 0..ROUNDS {
        let cpu = cpu_seconds();
        let (t, ok) = raw_round(addr, &domains, None).await;
        assert_eq!(ok, n);
        raw.add(t, cpu_seconds() - cpu);
        let cpu = cpu_seconds();
        let (t, ok) = raw_round(addr, &domains, Some(matcher.clone())).await;
        assert_eq!(ok, n);
        raw_scan.add(t, cpu_seconds() - cpu);
        let (cpu, started) = (cpu_seconds(), Instant::now());
        let results = fetcher
            .fetch_all(&targets, Instant::now() + Duration::from_secs(600))
            .await;
        ours.add(started.elapsed(), cpu_seconds() - cpu);
        assert!(results.iter().all(|r| r.status == HttpStatus::Matched));
    }
    let row = |name: &str, b: Best| {
        println!(
            "{name:<22} {:>7.0} domains/s  {:>6.0} µs CPU/domain",
            n as f64 / b.wall,
            b.cpu * 1e6 / n as f64
        )
    };
    row("raw fetch loop", raw);
    row("raw fetch loop + scan", raw_scan);
    row("fetcher (fetch_all)", ours);
    println!(
        "fetcher / raw: {:.2}x throughput, {:.2}x CPU per domain",
        raw.wall / ours.wall,
        ours.cpu / raw.cpu
    );
    println!(
        "fetcher / raw + scan: {:.2}x throughput, {:.2}x CPU per domain",
        raw_scan.wall / ours.wall,
        ours.cpu / raw_scan.cpu
    );
}
