//! What each scenario does, what it must prove it did, and which findings it holds strictly.

use serde_json::{Value, json};

use super::super::Config;
use super::super::audit::Strict;
use super::super::wizard::Flow;

/// What proves a scenario's fault really struck (without it the scenario tested nothing and
/// fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Nothing to prove (no fault, or a fault whose counter is only reported).
    None,
    /// The gateway's chaos counter of this kind is above 0.
    Injected(&'static str),
    /// A stream batch went to the on-failure destination (the outage outlasted the retries),
    /// and the sweeper re-drove campaigns (re-drives recorded in the stream).
    Discarded,
    /// The wizards' pauses, resumes, stops and restarts landed on running phases (stream), and
    /// campaigns interrupted that way completed.
    Storm,
}

/// What a scenario does.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub flow: Flow,
    pub campaigns: usize,
    pub domains: u64,
    pub chaos: Option<Value>,
    /// The chaos is an outage: it stays on until a stream batch went to the on-failure
    /// destination and the wizards stopped (at most `Config::outage_max`), instead of until the
    /// queues drained.
    pub outage: bool,
    pub ws_drop: f64,
    pub restart: bool,
    /// Every campaign must finish by itself: no start by hand after `auto_start_failed`, no
    /// failed discovery restarted by hand in the settle wait, nothing `STALLED`.
    pub must_finish: bool,
    /// Every campaign's discovery must be started by its auto-start.
    pub must_auto_start: bool,
    pub proof: Proof,
}

impl Spec {
    pub fn strict(&self) -> Strict {
        Strict {
            stalled: self.must_finish,
            auto_started: self.must_auto_start,
        }
    }
}

pub fn spec(name: &str, cfg: &Config) -> Option<Spec> {
    let mut s = Spec {
        name: name.to_string(),
        flow: Flow::ServerDriven,
        campaigns: cfg.campaigns,
        domains: cfg.domains,
        chaos: None,
        outage: false,
        ws_drop: 0.0,
        restart: false,
        must_finish: false,
        must_auto_start: false,
        proof: Proof::None,
    };
    match name {
        "baseline" => {}
        "seed" => {
            s.flow = Flow::Seed;
            s.campaigns = cfg.seed_campaigns;
        }
        "ddb-throttle" => s.chaos = Some(json!({"ddbThrottle": 0.2})),
        "sqs-send" => s.chaos = Some(json!({"sqsSendFailure": 0.5})),
        "worker-crash" => s.chaos = Some(json!({"workerCrash": 0.2})),
        "stream-failure" => s.chaos = Some(json!({"streamFailure": 0.2, "pushFailure": 0.1})),
        "ws-drop" => s.ws_drop = cfg.ws_drop,
        "moto-restart" => s.restart = true,
        "api-crash-after-write" => {
            s.chaos = Some(json!({"apiCrashAfterWrite": 0.5}));
            s.must_finish = true;
            s.must_auto_start = true;
            s.proof = Proof::Injected("apiCrashAfterWrite");
        }
        "dispatcher-outage" => {
            s.chaos = Some(json!({"dispatcherFailure": 1.0}));
            s.outage = true;
            s.must_finish = true;
            s.must_auto_start = true;
            s.proof = Proof::Discarded;
        }
        "pause-resume-storm" => {
            s.flow = Flow::Storm;
            s.domains = cfg.storm_domains;
            s.must_finish = true;
            s.proof = Proof::Storm;
        }
        _ => return None,
    }
    if s.chaos.is_some() || s.ws_drop > 0.0 || s.restart || s.flow == Flow::Storm {
        s.campaigns = cfg.chaos_campaigns;
    }
    Some(s)
}
