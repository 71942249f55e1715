//! The alternation of `one-bad-connection`: `rounds` fault steps between `rounds + 1` baseline
//! steps (B F B F … B), each condition's campaigns split evenly over its steps. On a shared
//! machine the load comes and goes; alternating lets a busy minute weigh on both conditions
//! alike instead of deciding the comparison. The rule is armed for each fault step and
//! disarmed after it, so every fault step starts with a connection the publisher does not yet
//! remember as failing (its first record pays the full retries).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::fleet::{FaultRule, Fleet};
use super::phase::{self, PhaseRun, PhaseSpec};
use super::verdict;
use crate::loadgen::audit::StreamCache;

/// What the alternation produced: each condition's steps merged.
pub struct Rounds {
    pub base: PhaseRun,
    pub fault: PhaseRun,
    /// Pushes the rules refused, over every fault step.
    pub refused: u64,
    /// The publisher's totals per condition (`baseline`, `fault`).
    pub publisher: Value,
    /// One line per step (condition, campaigns, creates failed, p95).
    pub steps: Vec<Value>,
    pub failures: Vec<String>,
}

/// `n` split into `parts` counts differing by at most one (the first ones larger).
pub fn split(n: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| n / parts + usize::from(i < n % parts))
        .collect()
}

const COUNTERS: [&str; 5] = ["records", "deliveries", "dropped", "gone", "rejected"];

/// The publisher's totals (`GET /_local/publisher`).
async fn publisher_totals(http: &reqwest::Client) -> Result<BTreeMap<&'static str, u64>, String> {
    let url = format!("{}/_local/publisher", integration_tests::api_url());
    let r = http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("GET {url}: {}", r.status()));
    }
    let v: Value = r.json().await.map_err(|e| format!("GET {url}: {e}"))?;
    COUNTERS
        .iter()
        .map(|k| {
            v[*k]
                .as_u64()
                .map(|n| (*k, n))
                .ok_or_else(|| format!("GET {url}: no {k} in {v}"))
        })
        .collect()
}

fn merge(acc: Option<PhaseRun>, run: PhaseRun) -> Option<PhaseRun> {
    Some(match acc {
        None => run,
        Some(a) => a.merge(run),
    })
}

/// Runs the steps; `spec(campaigns, fault, offset)` describes one.
pub async fn alternate(
    fleet: &Fleet,
    spec: &dyn Fn(usize, bool, usize) -> PhaseSpec,
    rounds: usize,
    campaigns: usize,
    http: &reqwest::Client,
    sdk: &aws_config::SdkConfig,
    stream: &mut StreamCache,
) -> Result<Rounds, String> {
    let rounds = rounds.max(1);
    let (base_parts, fault_parts) = (split(campaigns, rounds + 1), split(campaigns, rounds));
    let (mut base, mut fault) = (None, None);
    let mut totals: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let (mut refused, mut steps, mut failures) = (0, Vec::new(), Vec::new());
    let mut offset = 0;
    for step in 0..(2 * rounds + 1) {
        let is_fault = step % 2 == 1;
        let n = if is_fault {
            fault_parts[step / 2]
        } else {
            base_parts[step / 2]
        };
        if n == 0 {
            continue;
        }
        let before = publisher_totals(http).await?;
        let rule = if is_fault {
            Some(FaultRule::arm(http, &fleet.bad_connection).await?)
        } else {
            None
        };
        let run = phase::run_phase(fleet, &spec(n, is_fault, offset), sdk, stream).await;
        offset += n - 1;
        let mut step_refused = None;
        if let Some(rule) = rule {
            match rule.injected().await {
                Ok(k) => step_refused = Some(k),
                Err(e) => failures.push(format!("could not read a fault rule's count: {e}")),
            }
            if let Err(e) = rule.disarm().await {
                failures.push(format!("could not disarm the connection fault: {e}"));
            }
        }
        refused += step_refused.unwrap_or(0);
        let after = publisher_totals(http).await?;
        let condition = if is_fault { "fault" } else { "baseline" };
        let t = totals.entry(condition).or_default();
        for k in COUNTERS {
            *t.entry(k).or_default() += after[k].saturating_sub(before[k]);
        }
        let v = verdict::judge(&run.expected, &run.received, is_fault, 0);
        eprintln!(
            "one-bad-connection: step {} ({condition}): {} campaigns, p95 {} ms{}",
            step + 1,
            run.created.len(),
            v.p95().map_or("–".into(), |p| format!("{p:.1}")),
            step_refused.map_or(String::new(), |k| format!(", {k} pushes refused")),
        );
        steps.push(json!({
            "condition": condition,
            "campaigns": run.created.len(),
            "createFailures": run.create_failures.len(),
            "settledSeconds": run.settled_seconds,
            "latencyMs": v.latency_ms,
            "refusedPushes": step_refused,
            "publisher": {
                "dropped": after["dropped"].saturating_sub(before["dropped"]),
                "deliveries": after["deliveries"].saturating_sub(before["deliveries"]),
            },
        }));
        if is_fault {
            fault = merge(fault, run);
        } else {
            base = merge(base, run);
        }
    }
    Ok(Rounds {
        base: base.unwrap_or_default(),
        fault: fault.unwrap_or_default(),
        refused,
        publisher: json!(totals),
        steps,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_evenly() {
        assert_eq!(split(20, 3), vec![7, 7, 6]);
        assert_eq!(split(200, 4), vec![50, 50, 50, 50]);
        assert_eq!(split(1, 2), vec![1, 0]);
        assert_eq!(split(5, 0), vec![5]);
        assert_eq!(split(7, 2).iter().sum::<usize>(), 7);
    }
}
