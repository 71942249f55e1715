//! CPU use of the stack's processes over a window, from `/proc/<pid>/stat` (user + system
//! time, this process only — moto and the gateway run no children).

use std::time::{Duration, Instant};

/// `name=pid,name=pid` (`PROFILE_PIDS`) as pairs; malformed entries are an error.
pub fn parse_pids(spec: &str) -> Result<Vec<(String, u32)>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (name, pid) = entry
                .split_once('=')
                .ok_or_else(|| format!("PROFILE_PIDS entry {entry:?} is not name=pid"))?;
            let pid = pid
                .parse()
                .map_err(|_| format!("PROFILE_PIDS entry {entry:?}: {pid:?} is not a pid"))?;
            Ok((name.to_string(), pid))
        })
        .collect()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when getconf is missing).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in ticks.
fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name (field 2) may hold spaces; fields after its closing parenthesis.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("unexpected /proc stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let n = |i: usize| -> Result<u64, String> {
        fields
            .get(i - 3)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat field {i}"))
    };
    Ok(n(14)? + n(15)?)
}

/// The CPU time (ticks) of each process now.
pub fn snapshot(pids: &[(String, u32)]) -> Result<Vec<u64>, String> {
    pids.iter().map(|(_, p)| cpu_ticks(*p)).collect()
}

/// CPU milliseconds each process used since `before` ([`snapshot`]).
pub fn ms_since(pids: &[(String, u32)], before: &[u64]) -> Result<Vec<(String, f64)>, String> {
    let hz = clock_ticks();
    pids.iter()
        .zip(before)
        .map(|((name, pid), b)| {
            Ok((
                name.clone(),
                cpu_ticks(*pid)?.saturating_sub(*b) as f64 / hz * 1000.0,
            ))
        })
        .collect()
}

/// Percent of one core each process used over `window`.
pub async fn measure(
    pids: &[(String, u32)],
    window: Duration,
) -> Result<Vec<(String, f64)>, String> {
    let before: Vec<u64> = pids
        .iter()
        .map(|(_, p)| cpu_ticks(*p))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let secs = started.elapsed().as_secs_f64();
    let hz = clock_ticks();
    pids.iter()
        .zip(before)
        .map(|((name, pid), b)| {
            let a = cpu_ticks(*pid)?;
            Ok((
                name.clone(),
                (a.saturating_sub(b)) as f64 / hz / secs * 100.0,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pid_lists() {
        assert_eq!(
            parse_pids("moto=12, gateway=34").unwrap(),
            vec![("moto".to_string(), 12), ("gateway".to_string(), 34)]
        );
        assert!(parse_pids("moto").is_err());
        assert!(parse_pids("").unwrap().is_empty());
    }

    #[test]
    fn reads_its_own_cpu_time() {
        assert!(cpu_ticks(std::process::id()).is_ok());
    }
}
