//! `one-bad-connection` (issue 17.4; EVENTS.md: a push that fails for one connection affects
//! only that connection): one WebSocket connection whose every push fails transiently must not
//! hold back the other subscribers.
//!
//! `LOAD_BAD_CONNECTION_SUBSCRIBERS` sockets (1,000; smoke 50) for users with
//! `QUOTA_WS_CONNECTIONS` − 1 (9) sockets each — one below the most the contract lets one user
//! open, see `fleet.rs` — every socket subscribed to `*`. Two conditions on the same sockets, each with `LOAD_CHAOS_CAMPAIGNS`
//! Full Auto campaigns spread evenly over the users, created at `LOAD_BAD_CONNECTION_RATE` (1; smoke 2)
//! per second:
//! - baseline: no fault; every subscriber, the future bad one included, must get every event;
//! - the fault: a connection rule on the local gateway's Management API
//!   (`POST /_local/faults {"connectionId"}`) answers every push to user 0's first socket with
//!   429 `LimitExceededException`, API Gateway's answer for a client whose buffer is full.
//!
//! The conditions alternate, B F B … B (`LOAD_BAD_CONNECTION_ROUNDS` fault steps, 3; smoke 2;
//! `rounds.rs`), so load that comes and goes on a shared machine weighs on both alike.
//!
//! The verdict (`verdict.rs`): in both phases every judged subscriber got exactly the events the
//! table's stream produced for its user's campaigns (none missing or made up; repeats counted); the
//! fault phase's p95 delivery latency over the other subscribers is at most 2× the baseline's
//! (at `make bench`'s size; the smoke, beside the other tests of `make test`, prints the ratio);
//! the fault struck (the rule refused pushes, and the bad connection missed events). The
//! publisher's own counters (`GET /_local/publisher`) say how many deliveries it dropped.

mod fleet;
mod phase;
mod rounds;
pub mod verdict;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::Config;
use super::super::audit::StreamCache;
use fleet::Fleet;
use phase::{PhaseRun, PhaseSpec};
use verdict::PhaseVerdict;

pub const NAME: &str = "one-bad-connection";

fn phase_json(run: &PhaseRun, v: &PhaseVerdict) -> Value {
    json!({
        "campaigns": run.created.len(),
        "createFailures": run.create_failures,
        "createSeconds": run.create_seconds,
        "unsettled": run.unsettled,
        "settledSeconds": run.settled_seconds,
        "streamRecords": run.stream_records,
        "deliveredSeconds": run.delivered_seconds,
        "verdict": v,
    })
}

/// Failures of one phase's run (creates, settling, the stream, delivery) and verdict.
fn phase_failures(label: &str, run: &PhaseRun, v: &PhaseVerdict) -> Vec<String> {
    let mut out: Vec<String> = run
        .failures
        .iter()
        .map(|f| format!("{label}: {f}"))
        .collect();
    if let Some(e) = run.create_failures.first() {
        out.push(format!(
            "{label}: {} creates failed (e.g. {e})",
            run.create_failures.len()
        ));
    }
    if run.unsettled > 0 {
        out.push(format!(
            "{label}: {} campaigns did not settle",
            run.unsettled
        ));
    }
    out.extend(v.failures(label));
    out
}

fn print_phase(label: &str, v: &PhaseVerdict) {
    let p = |x: &Value| {
        x["p95"]
            .as_f64()
            .map_or("–".to_string(), |v| format!("{v:.1}"))
    };
    eprintln!(
        "{NAME}: {label}: {} subscribers judged, {} of {} events received, {} missing, {} repeated; delivery p50 {} / p95 {} ms (bad connection's user p95 {} ms, other users {} ms)",
        v.subscribers_judged,
        v.events_received,
        v.events_expected,
        v.missing.count,
        v.duplicates.count,
        v.latency_ms["p50"]
            .as_f64()
            .map_or("–".to_string(), |x| format!("{x:.1}")),
        p(&v.latency_ms),
        p(&v.same_user_latency_ms),
        p(&v.other_users_latency_ms),
    );
}

pub async fn run(
    cfg: &Config,
    http: &reqwest::Client,
    sdk: &aws_config::SdkConfig,
    stream: &mut StreamCache,
    run_deadline: Instant,
) -> Value {
    let started = Instant::now();
    let until = (started + Duration::from_secs(300)).min(run_deadline);
    let subscribers = cfg.bad_connection_subscribers;
    let mut fleet: Fleet =
        match fleet::connect(http, sdk, subscribers, cfg.ws_connection_quota, until).await {
            Ok(f) => f,
            Err(e) => {
                return super::failed(NAME, format!("could not connect the subscribers: {e}"));
            }
        };
    eprintln!(
        "{NAME}: {} sockets of {} users subscribed to `*` in {:.1} s; bad connection {} (user 0); {} campaigns per condition at {}/s, {} fault steps",
        fleet.subs.len(),
        fleet.users.len(),
        fleet.connect_seconds,
        fleet.bad_connection,
        cfg.chaos_campaigns,
        cfg.bad_connection_rate,
        cfg.bad_connection_rounds
    );
    let spec = |campaigns, skip_bad, offset| PhaseSpec {
        campaigns,
        rate: cfg.bad_connection_rate,
        domains: cfg.domains,
        settle: cfg.settle,
        skip_bad,
        offset,
    };
    let mut failures = Vec::new();
    let r = match rounds::alternate(
        &fleet,
        &spec,
        cfg.bad_connection_rounds,
        cfg.chaos_campaigns,
        http,
        sdk,
        stream,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            fleet.close().await;
            return super::failed(NAME, e);
        }
    };
    failures.extend(r.failures.iter().cloned());
    let (base, fault, refused) = (&r.base, &r.fault, r.refused);

    let base_v = verdict::judge(&base.expected, &base.received, false, 0);
    print_phase("baseline", &base_v);
    failures.extend(phase_failures("baseline", base, &base_v));
    let fault_v = verdict::judge(&fault.expected, &fault.received, true, 0);
    print_phase("with the bad connection", &fault_v);
    failures.extend(phase_failures("with the bad connection", fault, &fault_v));

    // What the bad connection got of its user's events while the rule was on.
    let bad_expected: usize = fault
        .expected
        .values()
        .filter(|c| c.owner == 0)
        .map(|c| c.required.len())
        .sum();
    let bad_received: usize = fault
        .received
        .iter()
        .filter(|r| r.bad)
        .flat_map(|r| r.by_campaign.values().flatten().map(|g| g.key.clone()))
        .collect::<BTreeSet<_>>()
        .len();
    if refused == 0 {
        failures
            .push("the scenario tested nothing: no push to the bad connection was refused".into());
    }
    if bad_expected == 0 || bad_received >= bad_expected {
        failures.push(format!(
            "the scenario tested nothing: the bad connection got {bad_received} of its user's {bad_expected} events"
        ));
    }
    let measured = verdict::p95_ratio(base_v.p95(), fault_v.p95());
    let ratio = match verdict::compare_p95(base_v.p95(), fault_v.p95()) {
        Ok(r) => Some(r),
        // The smoke (`make test`) runs beside the integration and browser tests on the shared
        // 2-core machine, where its baseline steps alone spread 64–163 ms in one run: there the
        // ratio is printed, and judged only at `make bench`'s size.
        Err(e) if cfg.smoke && measured.is_some() => {
            println!("{NAME}: the p95 ratio is not judged in the smoke: {e}");
            measured
        }
        Err(e) => {
            failures.push(e);
            None
        }
    };
    let closed = fleet.closed();
    if closed > 0 {
        failures.push(format!(
            "{closed} sockets were closed by the server or broke"
        ));
    }
    let publisher = &r.publisher;
    fleet.close().await;

    eprintln!(
        "{NAME}: the bad connection got {bad_received} of {bad_expected} events; {refused} pushes to it refused (429); publisher dropped {} deliveries; p95 ratio {}",
        publisher["fault"]["dropped"],
        ratio.map_or("–".to_string(), |r| format!(
            "{r:.2}× (limit {}×)",
            verdict::P95_LIMIT
        ))
    );
    let ok = failures.is_empty();
    eprintln!(
        "{NAME}: {} ({:.1} s)",
        if ok { "invariants hold" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    for f in &failures {
        eprintln!("  - {f}");
    }
    json!({
        "name": NAME,
        "kind": "oneBadConnection",
        "ok": ok,
        "failures": failures,
        "subscribers": fleet.subs.len(),
        "users": fleet.users.len(),
        "connectionsPerUser": fleet.per_user,
        "connectSeconds": fleet.connect_seconds,
        "campaignsPerPhase": cfg.chaos_campaigns,
        "rounds": cfg.bad_connection_rounds,
        "steps": r.steps,
        "createsPerSecond": cfg.bad_connection_rate,
        "domains": cfg.domains,
        "badConnection": {
            "id": fleet.bad_connection,
            "refusedPushes": refused,
            "eventsExpected": bad_expected,
            "eventsReceived": bad_received,
        },
        "publisher": publisher,
        "p95Ratio": ratio,
        "p95Limit": verdict::P95_LIMIT,
        "baseline": phase_json(base, &base_v),
        "fault": phase_json(fault, &fault_v),
        "socketsClosed": closed,
        "wallSeconds": started.elapsed().as_secs_f64(),
    })
}
