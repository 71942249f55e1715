//! The bootstrap cases: one row per `events/` fixture, each naming the function it is sent to
//! and the check of what comes back (the response JSON) and of what the function did in moto.
//!
//! Adding a function is one line in [`cases`]: `case!("sweeper", "sweeper.json", generic::responds)`
//! checks that it starts, takes the fixture and answers JSON; write a check of its own (like
//! those in [`pipeline`]) to also check its side effects. [`coverage`] fails the run while a
//! crate under `functions/` has no row, or a fixture under `events/` is not sent anywhere.

pub mod generic;
pub mod http;
pub mod pipeline;
pub mod ws;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;

use crate::fixture::{self, Fresh};
use crate::runtime_api::{Emulator, Invocation};
use crate::sandbox::Sandbox;

/// What a case's check returns: a one-line summary of what it verified, or what went wrong.
pub type Verdict = Result<String, String>;
pub type Check =
    for<'a> fn(&'a Ctx, &'a Case) -> Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;

pub struct Case {
    /// The crate directory under `functions/` (= the binary's name).
    pub function: &'static str,
    /// The fixture under `events/`.
    pub event: &'static str,
    pub check: Check,
}

macro_rules! case {
    ($function:literal, $event:literal, $check:path) => {
        Case {
            function: $function,
            event: $event,
            check: |ctx, case| Box::pin($check(ctx, case)),
        }
    };
}

/// Every case, in the order they run.
pub fn cases() -> Vec<Case> {
    vec![
        case!("api", "api-health.json", http::health),
        case!("api", "api-create-campaign.json", http::create_campaign),
        case!(
            "autostart-worker",
            "autostart-worker.json",
            pipeline::autostart_worker
        ),
        case!(
            "autostart-dlq",
            "autostart-dlq.json",
            pipeline::autostart_dlq
        ),
        case!(
            "phase-dispatcher",
            "phase-dispatcher.json",
            pipeline::phase_dispatcher
        ),
        case!("phase-worker", "phase-worker.json", pipeline::phase_worker),
        case!("phase-dlq", "phase-dlq.json", pipeline::phase_dlq),
        case!(
            "stream-publisher",
            "stream-publisher.json",
            ws::stream_publisher
        ),
        case!("ws-authorizer", "ws-authorizer.json", ws::authorizer),
        case!("ws-connect", "ws-connect.json", ws::connect),
        case!("ws-message", "ws-message-subscribe.json", ws::subscribe),
        case!("ws-disconnect", "ws-disconnect.json", ws::disconnect),
        case!("sweeper", "sweeper.json", generic::responds),
    ]
}

impl Case {
    /// The fixture with fresh ids and a valid local token for `fresh.owner`.
    pub fn event(&self, fresh: &Fresh) -> Result<Value, String> {
        fixture::instantiate(self.event, fresh, &fresh.token())
    }
}

/// What every case shares.
pub struct Ctx {
    pub sandbox: Sandbox,
    /// Where the binaries are: `<dir>/<function>` (cargo's layout) or `<dir>/<function>/bootstrap`
    /// (cargo-lambda's).
    pub bins: PathBuf,
    /// The AWS variables of this process (endpoint, region, credentials) and the sandbox's
    /// table and queue variables: what every function gets.
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
}

impl Ctx {
    pub fn bootstrap(&self, function: &str) -> Result<PathBuf, String> {
        let flat = self.bins.join(function);
        let nested = flat.join("bootstrap");
        [nested, flat]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "no binary for {function} in {} (build it first: cargo build --bin {function})",
                    self.bins.display()
                )
            })
    }

    /// Invokes `function` with `event`. Every function gets [`Ctx::env`], `RUST_LOG=info`
    /// and the emulator's management API as `WS_MANAGEMENT_ENDPOINT`; `extra` adds variables.
    pub async fn invoke(
        &self,
        function: &str,
        event: &Value,
        extra: &[(&str, &str)],
    ) -> Result<Invocation, String> {
        self.invoke_with(function, |_| {
            let extra = extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Ok((event.clone(), extra))
        })
        .await
    }

    /// [`Ctx::invoke`] with an event and variables that depend on the emulator (its issuer URL).
    pub async fn invoke_with(
        &self,
        function: &str,
        prepare: impl FnOnce(&Emulator) -> Result<(Value, Vec<(String, String)>), String>,
    ) -> Result<Invocation, String> {
        let bootstrap = self.bootstrap(function)?;
        let emulator = Emulator::start(function, fixture::rs256_jwks(), self.timeout)
            .await
            .map_err(|e| format!("emulator: {e}"))?;
        let (event, extra) = prepare(&emulator)?;
        let mut env = self.env.clone();
        env.insert("RUST_LOG".into(), "info".into());
        env.insert(
            "WS_MANAGEMENT_ENDPOINT".into(),
            emulator.ws_management_endpoint(),
        );
        env.extend(extra);
        Ok(emulator
            .invoke(&bootstrap, &event, &env, self.timeout)
            .await)
    }
}

/// The AWS variables passed on to the functions (the endpoint must point at moto).
pub fn aws_env() -> Result<BTreeMap<String, String>, String> {
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("AWS_ENDPOINT_URL")
                || [
                    "AWS_REGION",
                    "AWS_DEFAULT_REGION",
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN",
                    "AWS_EC2_METADATA_DISABLED",
                ]
                .contains(&k.as_str())
        })
        .collect();
    for required in ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID"] {
        if !env.contains_key(required) {
            return Err(format!(
                "{required} is not set: point the AWS variables at moto (source scripts/lib.sh)"
            ));
        }
    }
    Ok(env)
}

/// The function crates (directories under `functions/` with a Cargo.toml), sorted.
pub fn functions() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(fixture::root().join("functions"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The fixtures (`events/*.json`), sorted.
pub fn fixtures() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(fixture::root().join("events"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Problems with the case table: a function without a case, a fixture sent nowhere, a case for
/// a function or fixture that does not exist.
pub fn coverage(cases: &[Case]) -> Vec<String> {
    let mut problems = Vec::new();
    let functions = functions();
    let fixtures = fixtures();
    for f in &functions {
        if !cases.iter().any(|c| c.function == f) {
            problems.push(format!(
                "functions/{f} has no bootstrap case: add a line to cases() in tools/lambda-emulator/src/cases/mod.rs"
            ));
        }
    }
    for e in &fixtures {
        if !cases.iter().any(|c| c.event == e) {
            problems.push(format!(
                "events/{e} is not sent to any function by a bootstrap case"
            ));
        }
    }
    for c in cases {
        if !functions.iter().any(|f| f == c.function) {
            problems.push(format!(
                "a case names functions/{}, which does not exist",
                c.function
            ));
        }
        if !fixtures.iter().any(|e| e == c.event) {
            problems.push(format!(
                "a case names events/{}, which does not exist",
                c.event
            ));
        }
    }
    problems
}

/// `Ok` when `got == want`, else a message naming `what`.
pub fn expect_eq(what: &str, got: &Value, want: &Value) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want}, got {got}"))
    }
}

pub fn expect(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

/// The SQS and stream handlers' answer when every record was handled.
pub fn no_batch_failures(inv: &Invocation) -> Result<(), String> {
    let r = inv.response()?;
    expect_eq(
        "the batch response (every record handled)",
        r,
        &serde_json::json!({"batchItemFailures": []}),
    )
    .map_err(|e| format!("{e}\n--- function output ---\n{}", inv.logs))
}

/// `init N ms` for the summary line.
pub fn timing(inv: &Invocation) -> String {
    match inv.init {
        Some(init) => format!(
            "init {:.1} ms, answered after {:.0} ms",
            init.as_secs_f64() * 1000.0,
            inv.total.as_secs_f64() * 1000.0
        ),
        None => "never reached /next".into(),
    }
}
