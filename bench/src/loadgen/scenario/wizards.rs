//! Runs one scenario's wizards to the end (and the moto restart halfway, for `moto-restart`),
//! bounded by the scenario's deadline.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::super::Config;
use super::super::audit::Findings;
use super::super::wizard::{Shared, Wizard};
use super::restart::{RestartInfo, restart_moto};
use super::spec::Spec;

pub struct Ran {
    pub wizards: Vec<Wizard>,
    /// Wizards that could not start or did not finish.
    pub errors: Findings,
    pub restart: Option<RestartInfo>,
    pub done: Instant,
    pub failures: Vec<String>,
}

pub async fn run_wizards(
    cfg: &Config,
    spec: &Spec,
    http: &reqwest::Client,
    started: Instant,
    deadline: Instant,
) -> Ran {
    let (epoch_tx, epoch_rx) = watch::channel(0u64);
    let sh = Arc::new(Shared {
        cfg: cfg.clone(),
        flow: spec.flow,
        total: spec.campaigns,
        domains: spec.domains,
        ws_drop: spec.ws_drop,
        next: AtomicUsize::new(0),
        created: AtomicUsize::new(0),
        epoch: epoch_rx,
        deadline,
        started,
        http: http.clone(),
    });
    let handles: Vec<_> = (0..cfg.wizards)
        .map(|i| {
            let sh = sh.clone();
            tokio::spawn(async move {
                let w = Wizard::start(i, &sh).await?;
                Ok::<_, String>(w.run(sh).await)
            })
        })
        .collect();
    let restart = match (&cfg.restart_cmd, spec.restart) {
        (Some(cmd), true) => Some(tokio::spawn(restart_moto(
            sh.clone(),
            cmd.clone(),
            epoch_tx,
        ))),
        _ => None,
    };
    let mut wizards: Vec<Wizard> = Vec::new();
    let mut errors = Findings::default();
    for h in handles {
        let abort = h.abort_handle();
        match tokio::time::timeout_at((deadline + Duration::from_secs(150)).into(), h).await {
            Ok(Ok(Ok(w))) => wizards.push(w),
            Ok(Ok(Err(e))) => errors.add(format!("a wizard could not start: {e}")),
            Ok(Err(e)) => errors.add(format!("a wizard task failed: {e}")),
            Err(_) => {
                abort.abort();
                errors.add("a wizard did not finish in time (aborted)".into());
            }
        }
    }
    let done = Instant::now();
    let restart: Option<RestartInfo> = match restart {
        Some(h) => {
            let abort = h.abort_handle();
            match tokio::time::timeout(Duration::from_secs(200), h).await {
                Ok(Ok(info)) => info,
                _ => {
                    abort.abort();
                    None
                }
            }
        }
        None => None,
    };
    let mut failures = Vec::new();
    if spec.restart {
        match &restart {
            None => {
                failures.push("the moto restart never ran (not enough campaigns created)".into())
            }
            Some(r) if !r.ok => failures.push(format!(
                "the moto restart command failed: {} (log: {})",
                r.error.clone().unwrap_or_default(),
                r.log
            )),
            Some(_) => {}
        }
    }
    Ran {
        wizards,
        errors,
        restart,
        done,
        failures,
    }
}
