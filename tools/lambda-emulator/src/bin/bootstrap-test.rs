//! The bootstrap test: every function's binary behind the Runtime API emulator, invoked with its
//! `events/` fixture against moto (the AWS variables must point at it, as `scripts/lib.sh` sets
//! them). Exits 1 when a case fails or a function or fixture has no case.
//!
//! ```text
//! bootstrap-test [--bins DIR] [--only FUNCTION[,FUNCTION…]]
//! ```
//! `--bins`: where the binaries are, `<DIR>/<function>` (default: `$CARGO_TARGET_DIR/debug`,
//! else `target/debug`) or `<DIR>/<function>/bootstrap` (cargo-lambda's `target/lambda*`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lambda_emulator::cases::{self, Ctx};
use lambda_emulator::sandbox::Sandbox;

fn default_bins() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| lambda_emulator::fixture::root().join("target"))
        .join("debug")
}

#[tokio::main]
async fn main() {
    let mut bins = default_bins();
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--bins", Some(v)) => bins = PathBuf::from(v),
            ("--only", Some(v)) => only = Some(v.split(',').map(str::to_string).collect()),
            _ => {
                eprintln!("usage: bootstrap-test [--bins DIR] [--only FUNCTION[,FUNCTION…]]");
                std::process::exit(2);
            }
        }
    }
    std::process::exit(run(bins, only).await);
}

async fn run(bins: PathBuf, only: Option<Vec<String>>) -> i32 {
    let started = Instant::now();
    let all = cases::cases();
    let mut failed = cases::coverage(&all);
    for p in &failed {
        eprintln!("FAIL coverage: {p}");
    }
    let env = match cases::aws_env() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("FAIL {e}");
            return 1;
        }
    };
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let sandbox = match Sandbox::create(&aws).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("FAIL could not create the private tables and queues on moto: {e}");
            return 1;
        }
    };
    let mut function_env = env;
    function_env.extend(sandbox.env.clone());
    let ctx = std::sync::Arc::new(Ctx {
        sandbox,
        bins: bins.clone(),
        env: function_env,
        timeout: Duration::from_secs(30),
    });
    println!("bootstrap test: binaries from {}", bins.display());
    let mut ran = 0;
    for (i, case) in all.iter().enumerate() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|f| f == case.function))
        {
            continue;
        }
        ran += 1;
        let label = format!("{} ← events/{}", case.function, case.event);
        // A panic in a check fails that case only (and the sandbox is still deleted).
        let task_ctx = ctx.clone();
        let verdict = tokio::spawn(async move {
            let case = &cases::cases()[i];
            (case.check)(&task_ctx, case).await
        })
        .await
        .unwrap_or_else(|e| Err(format!("the check panicked: {e}")));
        match verdict {
            Ok(summary) => println!("ok   {label}: {summary}"),
            Err(why) => {
                println!("FAIL {label}: {why}");
                failed.push(label);
            }
        }
    }
    for p in ctx.sandbox.destroy().await {
        eprintln!("warning: {p}");
    }
    let secs = started.elapsed().as_secs_f64();
    if failed.is_empty() {
        println!("bootstrap test: {ran} cases passed in {secs:.1} s");
        0
    } else {
        println!(
            "bootstrap test: {} of {ran} cases failed ({secs:.1} s): {}",
            failed.len(),
            failed.join("; ")
        );
        1
    }
}
