//! The per-campaign audit of one scenario: each audited campaign's final status and its records
//! in the table's stream, judged into [`Invariants`] (see `audit/` for what each check means),
//! plus what the stream says the scenario did (starts, pauses, resumes, restarts, the sweeper's
//! re-drives), which is what proves a fault or a storm really struck.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Value, json};

use super::super::Config;
use super::super::api::Api;
use super::super::audit::{self, FinalState, Image, Invariants, judge_stream};
use super::super::wizard::{CampaignRecord, maybe_applied};
use super::spec::Spec;

/// What the audit looks at.
pub struct Inputs<'a> {
    pub cfg: &'a Config,
    pub items: &'a [(String, Api)],
    pub finals: &'a HashMap<String, FinalState>,
    pub records: &'a HashMap<&'a str, &'a CampaignRecord>,
    /// The work queues' backlog during the run (invariant 5 allows for it).
    pub backlogs: &'a audit::Backlogs,
}

/// The final statuses: lost, not completed, invariant 1, help needed, auto-started. Returns the
/// per-state counts and how many failed discoveries the settle wait restarted by hand.
pub fn judge_finals(inp: &Inputs, inv: &mut Invariants) -> (BTreeMap<String, usize>, usize) {
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let mut resumed_by_hand = 0;
    for (id, _) in inp.items {
        let Some(f) = inp.finals.get(id) else {
            continue;
        };
        *states.entry(audit::state_key(f)).or_default() += 1;
        if f.resumed_by_hand {
            resumed_by_hand += 1;
            inv.needed_help
                .add(format!("{id}: failed discovery restarted by the audit"));
        }
        if let Some(reason) = inp
            .records
            .get(id.as_str())
            .and_then(|r| r.recovered_by_hand.as_ref())
        {
            inv.needed_help.add(format!(
                "{id}: started by hand after auto_start_failed {reason}"
            ));
        }
        if f.not_found {
            inv.lost.add(format!("{id}: 404 at the end"));
            continue;
        }
        let Some(s) = &f.status else {
            inv.lost.add(format!("{id}: no status could be read"));
            continue;
        };
        if !audit::started(s) {
            inv.lost
                .add(format!("{id}: never started ({})", audit::brief(Some(s))));
        } else if !audit::completed(s) {
            inv.not_completed
                .add(format!("{id}: {}", audit::brief(Some(s))));
        }
        if let Err(e) = audit::invariant1(s) {
            inv.invariant1.add(format!("{id}: {e}"));
        }
        if !audit::auto_started(s) {
            inv.not_auto_started
                .add(format!("{id}: {}", audit::brief(Some(s))));
        }
    }
    (states, resumed_by_hand)
}

/// The stream's totals over the audited campaigns.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamTotals {
    pub records: usize,
    pub discovery_starts: usize,
    pub discovery_resumes: usize,
    pub discovery_restarts: usize,
    pub discovery_pauses: usize,
    pub discovery_stops: usize,
    /// Campaigns paused or stopped at least once, and how many of those completed.
    pub interrupted: usize,
    pub interrupted_completed: usize,
    /// The sweeper's re-drives by reason.
    pub recoveries: BTreeMap<String, usize>,
    pub longest_still_ms: i64,
    pub longest_queued_ms: i64,
    /// The longest stand-still past the bounds that a queue's backlog explained.
    pub longest_backlog_wait_ms: i64,
}

/// Judges every audited campaign's stream records; returns the totals and each campaign's
/// images by version (for the event audit).
pub fn judge_streams(
    inp: &Inputs,
    by_campaign: &HashMap<String, Vec<audit::stream::StreamRec>>,
    now_ms: i64,
    inv: &mut Invariants,
) -> (StreamTotals, HashMap<String, HashMap<u64, Image>>) {
    let mut t = StreamTotals::default();
    let mut images = HashMap::new();
    for (id, _) in inp.items {
        let list = by_campaign.get(id).map(Vec::as_slice).unwrap_or_default();
        let judge = audit::judge::Judge {
            bounds: inp.cfg.stale,
            backlogs: inp.backlogs,
        };
        let v = judge_stream(list, &judge, now_ms);
        let d = v.phase("discovery");
        t.records += v.records;
        t.discovery_starts += d.starts;
        t.discovery_resumes += d.resumes;
        t.discovery_restarts += d.restarts;
        t.discovery_pauses += d.pauses;
        t.discovery_stops += d.stops;
        for (reason, n) in &v.recoveries {
            *t.recoveries.entry(reason.clone()).or_default() += n;
        }
        t.longest_still_ms = t.longest_still_ms.max(v.longest_still_ms);
        t.longest_queued_ms = t.longest_queued_ms.max(v.longest_queued_ms);
        t.longest_backlog_wait_ms = t.longest_backlog_wait_ms.max(v.longest_backlog_wait_ms);
        let f = inp.finals.get(id);
        let status = f.and_then(|f| f.status.as_ref());
        if d.pauses + d.stops > 0 {
            t.interrupted += 1;
            if status.is_some_and(audit::completed) {
                t.interrupted_completed += 1;
            }
        }
        for p in &v.double_starts {
            inv.double_started.add(format!("{id}: {p}"));
        }
        let started = status.is_some_and(audit::started);
        if started && d.starts == 0 {
            inv.stream_gaps.add(format!(
                "{id}: started per status, no start record in the stream"
            ));
        }
        if !started && d.starts > 0 {
            inv.stream_gaps.add(format!(
                "{id}: a start record in the stream, but the status says {}",
                audit::brief(status)
            ));
        }
        if !v.has_insert {
            inv.stream_gaps
                .add(format!("{id}: no INSERT record in the stream"));
        }
        for p in &v.version_problems {
            inv.version_regressions.add(format!("{id}: {p}"));
        }
        for p in &v.stale {
            inv.stuck.add(format!("{id}: {p}"));
        }
        for p in &v.paused_problems {
            inv.paused_moved.add(format!("{id}: {p}"));
        }
        // Resumes and restarts only by someone's hand: the wizard's calls (those that may have
        // been applied) and the audit's own restart of a failed discovery.
        let rec = inp.records.get(id.as_str());
        let resumes = rec.map_or(0, |r| maybe_applied(r, "resume")) as usize;
        if d.resumes > resumes {
            inv.paused_moved.add(format!(
                "{id}: discovery resumed {} times in the stream, the wizard resumed it at most {resumes}",
                d.resumes
            ));
        }
        let restarts = rec.map_or(0, |r| maybe_applied(r, "start")) as usize
            + usize::from(f.is_some_and(|f| f.resumed_by_hand));
        if d.restarts > restarts {
            inv.paused_moved.add(format!(
                "{id}: discovery started again {} times in the stream, by hand at most {restarts}",
                d.restarts
            ));
        }
        let mut stalled = v.stalled.clone();
        if stalled.is_empty()
            && let Some(s) = status.and_then(audit::stalled)
        {
            stalled.push(s);
        }
        for s in stalled {
            inv.stalled.add(format!("{id}: {s}"));
        }
        images.insert(
            id.clone(),
            list.iter()
                .filter_map(|r| r.new.clone())
                .map(|i| (i.version, i))
                .collect(),
        );
    }
    (t, images)
}

/// What proves the scenario's fault (or storm) struck; `Err` says what is missing.
pub fn proof(
    spec: &Spec,
    injected: &Value,
    discards: &Value,
    totals: &StreamTotals,
) -> Result<Value, String> {
    use super::spec::Proof;
    match spec.proof {
        Proof::None => Ok(json!(null)),
        Proof::Injected(kind) => match injected[kind].as_u64().unwrap_or(0) {
            0 => Err(format!("the fault {kind} never struck")),
            n => Ok(json!({kind: n})),
        },
        Proof::Discarded => {
            let batches = discards["batches"].as_u64().unwrap_or(0);
            let redrives: usize = totals.recoveries.values().sum();
            if batches == 0 {
                Err("no stream batch went to the on-failure destination: the outage was shorter than the stream's retries".into())
            } else if redrives == 0 {
                Err("the sweeper re-drove no campaign".into())
            } else {
                Ok(
                    json!({"discardedBatches": batches, "discardedRecords": discards["records"], "redrives": totals.recoveries}),
                )
            }
        }
        Proof::Storm => {
            let t = totals;
            if t.discovery_pauses == 0 || t.discovery_resumes == 0 || t.discovery_restarts == 0 {
                Err(format!(
                    "the storm did not land: {} pauses, {} resumes, {} restarts of a running discovery",
                    t.discovery_pauses, t.discovery_resumes, t.discovery_restarts
                ))
            } else if t.interrupted_completed == 0 {
                Err("no interrupted campaign completed".into())
            } else {
                Ok(json!({
                    "pauses": t.discovery_pauses, "resumes": t.discovery_resumes,
                    "stops": t.discovery_stops, "restarts": t.discovery_restarts,
                    "interrupted": t.interrupted, "interruptedCompleted": t.interrupted_completed,
                }))
            }
        }
    }
}
