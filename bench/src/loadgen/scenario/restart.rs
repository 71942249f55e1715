//! The `moto-restart` scenario's restart: halfway through (half the campaigns created), run
//! `LOAD_MOTO_RESTART_CMD` (bounded), then tell every wizard to reconnect.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::super::wizard::Shared;

/// When the moto restart ran (seconds since the scenario started).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartInfo {
    pub command: String,
    pub started_s: f64,
    pub ended_s: f64,
    pub ok: bool,
    pub error: Option<String>,
    pub log: String,
}

async fn run_command(cmd: &str, until: Instant, log_path: &Path) -> Result<(), String> {
    let log = std::fs::File::create(log_path).map_err(|e| format!("{log_path:?}: {e}"))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("could not run `{cmd}`: {e}"))?;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("`{cmd}` exited with {status}")),
            Ok(None) => {}
            Err(e) => return Err(format!("`{cmd}`: {e}")),
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`{cmd}` did not finish in time; killed"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Halfway through (half the campaigns created), runs the restart command, then tells every
/// wizard to reconnect.
pub async fn restart_moto(
    sh: Arc<Shared>,
    cmd: String,
    epoch: watch::Sender<u64>,
) -> Option<RestartInfo> {
    let half = sh.total.div_ceil(2);
    while sh.created.load(Ordering::SeqCst) < half {
        // Every wizard takes one slot past the total when it stops.
        let all_stopped = sh.next.load(Ordering::SeqCst) >= sh.total + sh.cfg.wizards;
        if Instant::now() >= sh.deadline || all_stopped {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    eprintln!("moto-restart: {half} campaigns created; running `{cmd}`");
    let _ = std::fs::create_dir_all("target/bench");
    let log = "target/bench/moto-restart.log";
    let r = run_command(&cmd, started + Duration::from_secs(180), Path::new(log)).await;
    let ended = Instant::now();
    eprintln!(
        "moto-restart: done in {:.1} s ({})",
        (ended - started).as_secs_f64(),
        r.as_ref().err().map_or("ok", String::as_str)
    );
    epoch.send_modify(|e| *e += 1);
    Some(RestartInfo {
        command: cmd,
        started_s: sh.offset(started),
        ended_s: sh.offset(ended),
        ok: r.is_ok(),
        error: r.err(),
        log: log.into(),
    })
}
