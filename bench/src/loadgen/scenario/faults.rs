//! Turning a scenario's chaos off once it did its work.
//!
//! - Most faults stay armed after the wizards stopped until the work queues are empty (at most
//!   `LOAD_CHAOS_HOLD_SECONDS`), so the workers' backlog runs under them too.
//! - An outage (`dispatcher-outage`) stays on until the stream's retries ran out at least once —
//!   the gateway counts the batches it sent to the on-failure destination — and the wizards
//!   stopped, at most `LOAD_OUTAGE_SECONDS` after it was armed. Waiting for the queues would end
//!   it at once: with the dispatcher down nothing reaches them.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::Config;
use super::super::api::ChaosSwitch;
use super::super::audit;
use super::spec::Spec;

/// What the chaos did, read when it was turned off.
#[derive(Debug, Default)]
pub struct ChaosEnd {
    /// The gateway's counters per kind.
    pub injected: Value,
    /// `{batches, records}` sent to the stream's on-failure destination while it was on.
    pub discards: Value,
    /// How long it stayed on after the wizards stopped, and why it ended.
    pub held: Option<Value>,
    pub failures: Vec<String>,
}

async fn discarded_batches(chaos: &ChaosSwitch) -> u64 {
    match chaos.report().await {
        Ok(Some(r)) => r["streamDiscards"]["batches"].as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// Holds the chaos as the spec says, then disarms it and reads its counters.
pub async fn end_chaos(
    spec: &Spec,
    cfg: &Config,
    sdk: &aws_config::SdkConfig,
    chaos: &ChaosSwitch,
    armed_at: Instant,
    run_deadline: Instant,
) -> ChaosEnd {
    let mut end = ChaosEnd::default();
    if spec.chaos.is_none() {
        return end;
    }
    let hold = Instant::now();
    if spec.outage {
        let until = (armed_at + cfg.outage_max).min(run_deadline);
        let mut discarded = discarded_batches(chaos).await;
        while discarded == 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(1)).await;
            discarded = discarded_batches(chaos).await;
        }
        end.held = Some(json!({
            "seconds": hold.elapsed().as_secs_f64(),
            "outageSeconds": armed_at.elapsed().as_secs_f64(),
            "until": if discarded > 0 { "a batch went to the on-failure destination" } else { "the outage's time limit" },
        }));
        eprintln!(
            "{}: outage ended after {:.1} s ({} batches to the on-failure destination)",
            spec.name,
            armed_at.elapsed().as_secs_f64(),
            discarded
        );
    } else if !cfg.chaos_hold.is_zero() {
        let drained =
            audit::wait_queues_quiet(sdk, (hold + cfg.chaos_hold).min(run_deadline)).await;
        end.held = Some(json!({"seconds": hold.elapsed().as_secs_f64(), "queuesDrained": drained}));
        eprintln!(
            "{}: chaos kept on {:.1} s after the wizards stopped ({})",
            spec.name,
            hold.elapsed().as_secs_f64(),
            if drained {
                "until the queues were empty"
            } else {
                "the queues were not empty yet"
            }
        );
    }
    if let Err(e) = chaos.disarm().await {
        end.failures.push(format!("could not disarm chaos: {e}"));
    }
    match chaos.report().await {
        Ok(Some(r)) => {
            end.injected = r["injected"].clone();
            end.discards = r["streamDiscards"].clone();
        }
        Ok(None) => end.failures.push("GET /_local/chaos answered 404".into()),
        Err(e) => end.failures.push(e),
    }
    end
}
