//! Validation benchmark (`make bench`): DNS validation throughput against a local DNS server
//! (started here, on 127.0.0.1) at the persona's concurrency, three ways in one run:
//!
//! 1. raw `hickory-resolver` lookups, `BENCH_DNS_CONCURRENCY` at a time;
//! 2. the validator the phase worker uses (`DnsValidator::check_all`: the same resolver plus the
//!    persona's rate limit, classification and deadline);
//! 3. the whole validation phase on the local stack (chunks, stored results, progress writes),
//!    from its start commit to its completion commit.
//!
//! Reports domains/s for each and the per-domain overhead of 2 and 3 over 1.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bench::{env, phase_seconds, run_phase_by_hand};
use campaign_shared::phases::validation::DnsPersonaConfig;
use campaign_shared::phases::validation::DnsValidator;
use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use integration_tests::dns::{Mode, TestDns};
use integration_tests::{Client, campaign_body, phase};
use serde_json::json;

async fn raw_hickory(dns: &TestDns, domains: &[String], concurrency: usize) -> f64 {
    let mut udp = ConnectionConfig::udp();
    udp.port = dns.addr.port();
    let servers = vec![NameServerConfig::new(dns.addr.ip(), true, vec![udp])];
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(2);
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.ndots = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    // the same work as the validator: A and AAAA for every name
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    let resolver = Resolver::builder_with_config(
        ResolverConfig::from_name_servers(servers),
        TokioRuntimeProvider::default(),
    )
    .with_options(opts)
    .build()
    .expect("resolver");
    let resolver = &resolver;
    let started = Instant::now();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let runs = domains.iter().map(|d| {
        let sem = sem.clone();
        async move {
            let _p = sem.acquire().await.ok();
            let _ = resolver.lookup_ip(format!("{d}.").as_str()).await;
        }
    });
    futures_util::future::join_all(runs).await;
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let n = env("BENCH_DNS_DOMAINS", 10_000) as usize;
    let concurrency = env("BENCH_DNS_CONCURRENCY", 64) as usize;
    let domains = integration_tests::generated_domains(n);
    let zone: HashMap<String, Ipv4Addr> = domains
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(i, d)| (d.clone(), Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1)))
        .collect();
    let dns = TestDns::start(zone, Mode::Answer).await;
    let persona = DnsPersonaConfig {
        resolvers: vec![dns.addr],
        timeout_ms: 2000,
        concurrency,
        rate_limit_per_second: 10_000,
    };

    let raw = raw_hickory(&dns, &domains, concurrency).await;
    let validator = DnsValidator::new(&persona).expect("validator");
    let started = Instant::now();
    let checks = validator
        .check_all(
            &domains,
            tokio::time::Instant::now() + Duration::from_secs(600),
        )
        .await;
    let wrapped = started.elapsed().as_secs_f64();
    let resolved = checks
        .iter()
        .filter(|c| c.status.as_str() == "resolved")
        .count();
    assert_eq!(
        resolved,
        n.div_ceil(3),
        "the validator resolved exactly the zone"
    );

    // the whole phase on the local stack
    let c = Client::new_user().await;
    let body = json!({
        "name": "bench resolver", "kind": "dns",
        "config": {"resolvers": [dns.addr.to_string()], "timeoutMs": 2000, "concurrency": concurrency, "rateLimitPerSecond": 10000}
    });
    let pid = c.post("/personas", &body).await.expect(201).body["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut campaign = campaign_body("step_by_step", n as u64);
    campaign["config"]["personaIds"] = json!([pid]);
    let id = c.create_campaign(&campaign).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    run_phase_by_hand(&c, &id, "discovery", Duration::from_secs(300)).await;
    let done = run_phase_by_hand(&c, &id, "validation", Duration::from_secs(600)).await;
    let v = phase(&done, "validation");
    let pipeline = phase_seconds(v);
    assert_eq!(
        v["summary"]["resolved"],
        json!(n.div_ceil(3)),
        "the phase resolved exactly the zone"
    );

    let per = |secs: f64| secs * 1e6 / n as f64;
    println!(
        "| validation of {n} domains, concurrency {concurrency} | seconds | domains/s | µs per domain | overhead vs raw (µs/domain) |"
    );
    println!("|---|---|---|---|---|");
    for (name, secs) in [
        ("raw hickory-resolver lookups", raw),
        ("DnsValidator (the phase's resolver code)", wrapped),
        ("validation phase on the local stack", pipeline),
    ] {
        println!(
            "| {name} | {secs:.2} | {:.0} | {:.1} | {:.1} |",
            n as f64 / secs,
            per(secs),
            per(secs) - per(raw)
        );
    }
    let result = json!({"domains": n, "concurrency": concurrency, "rawSeconds": raw, "validatorSeconds": wrapped, "phaseSeconds": pipeline});
    let _ = std::fs::create_dir_all("target/bench");
    let _ = std::fs::write(
        "target/bench/validation.json",
        serde_json::to_string_pretty(&result).unwrap_or_default(),
    );
}
