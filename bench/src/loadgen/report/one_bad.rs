//! `one-bad-connection` in the report: its row of the summary table (the campaign audit's
//! columns do not apply: –) and its section (the delivery latencies of both phases, the counts).

use serde_json::Value;

use super::n;
use crate::row;

fn f1(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |x| format!("{x:.1}"))
}

/// The summary table's row.
pub fn summary_row(s: &Value) -> String {
    let b = &s["badConnection"];
    let injected = format!(
        "1 of {} subscribers: {} pushes answered 429 LimitExceeded; the publisher dropped {} deliveries",
        n(&s["subscribers"]),
        n(&b["refusedPushes"]),
        s["publisher"]["fault"]["dropped"]
    );
    let fault = &s["fault"]["verdict"];
    let verdict = if s["ok"] == true {
        format!(
            "✅ {} of {} events at the other subscribers; p95 {} ms vs baseline {} ms ({}×, limit {}×)",
            n(&fault["eventsReceived"]),
            n(&fault["eventsExpected"]),
            f1(&fault["latencyMs"]["p95"]),
            f1(&s["baseline"]["verdict"]["latencyMs"]["p95"]),
            s["p95Ratio"]
                .as_f64()
                .map_or("–".into(), |r| format!("{r:.2}")),
            s["p95Limit"]
        )
    } else {
        format!("❌ {}", s["failures"][0].as_str().unwrap_or("failed"))
    };
    format!(
        "| {} | {injected} | {} with the fault, {} without | – | – | – | – | – | – | – | {verdict} |",
        s["name"].as_str().unwrap_or("?"),
        n(&s["fault"]["campaigns"]),
        n(&s["baseline"]["campaigns"])
    )
}

/// The scenario's section.
pub fn section(s: &Value, out: &mut Vec<String>) {
    out.push(format!(
        "| delivery latency ({} subscribers, {} users; receipt − `at`) | n | p50 ms | p95 ms | p99 ms | max ms |",
        n(&s["subscribers"]),
        n(&s["users"])
    ));
    out.push("|---|---|---|---|---|---|".into());
    for (label, key) in [
        ("baseline", "baseline"),
        ("with the bad connection", "fault"),
    ] {
        let v = &s[key]["verdict"];
        out.push(row(
            &format!("{label}: every judged subscriber"),
            &v["latencyMs"],
        ));
        out.push(row(
            &format!("{label}: the bad connection's user's other sockets"),
            &v["sameUserLatencyMs"],
        ));
        out.push(row(
            &format!("{label}: the other users"),
            &v["otherUsersLatencyMs"],
        ));
    }
    out.push(String::new());
    let b = &s["badConnection"];
    for (label, key) in [
        ("baseline", "baseline"),
        ("with the bad connection", "fault"),
    ] {
        let p = &s[key];
        let v = &p["verdict"];
        out.push(format!(
            "- {label}: {} campaigns ({} stream records), {} subscribers judged: {} of {} events received, {} missing, {} repeated, {} not from the stream; settled after {} s, every event delivered {} s after the stream was read; publisher: {} records, {} deliveries, {} dropped",
            n(&p["campaigns"]),
            n(&p["streamRecords"]),
            n(&v["subscribersJudged"]),
            n(&v["eventsReceived"]),
            n(&v["eventsExpected"]),
            n(&v["missing"]["count"]),
            n(&v["duplicates"]["count"]),
            n(&v["unexpected"]["count"]),
            f1(&p["settledSeconds"]),
            f1(&p["deliveredSeconds"]),
            s["publisher"][key]["records"],
            s["publisher"][key]["deliveries"],
            s["publisher"][key]["dropped"],
        ));
    }
    let steps: Vec<String> = s["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            format!(
                "{} {} campaigns, p95 {} ms{}",
                if st["condition"] == "fault" { "F" } else { "B" },
                n(&st["campaigns"]),
                f1(&st["latencyMs"]["p95"]),
                st["refusedPushes"]
                    .as_u64()
                    .map_or(String::new(), |k| format!(
                        " ({k} refused, {} dropped)",
                        st["publisher"]["dropped"]
                    ))
            )
        })
        .collect();
    out.push(format!("- steps, in order: {}", steps.join("; ")));
    out.push(format!(
        "- the bad connection ({}): {} of its user's {} events received while its rule was on; {} pushes refused",
        b["id"].as_str().unwrap_or("?"),
        n(&b["eventsReceived"]),
        n(&b["eventsExpected"]),
        n(&b["refusedPushes"])
    ));
    out.push(format!(
        "- connect and subscribe: {:.1} s; wall {:.1} s",
        s["connectSeconds"].as_f64().unwrap_or(0.0),
        s["wallSeconds"].as_f64().unwrap_or(0.0)
    ));
    for f in s["failures"].as_array().into_iter().flatten() {
        out.push(format!("- ❌ {}", f.as_str().unwrap_or_default()));
    }
    out.push(String::new());
}
