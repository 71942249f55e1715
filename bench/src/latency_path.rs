//! The critical path of one create → `phase_auto_started`, cut into hops from the gateway's
//! profile spans (`local/src/profile.rs`) and the client's own two timestamps.
//!
//! The path: client sends `POST /campaigns` → the API handler runs until its `SendMessage`
//! returned → the autostart worker's long-poll receive returns the message → the worker runs
//! until its commit (the last write of the campaigns table in that invocation) returned → the
//! stream-publisher's `GetRecords` returns the commit's record → the publisher runs until its
//! `PostToConnection` → the client has the event. The hops telescope: they add up to the whole.
//!
//! The floor is the time moto itself spends on the path: per hop, the union of the intervals of
//! the DynamoDB, Streams and SQS requests made by the invocation on the path, plus the
//! `GetRecords` that carried the record. The long-poll receive is waiting, not work, and is left
//! out (so the floor is a lower bound).

use std::collections::BTreeMap;

use serde::Deserialize;

/// One gateway span (`GET /_local/profile`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub kind: String,
    pub name: String,
    pub start_us: i64,
    pub dur_us: i64,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub invocation: Option<u64>,
    #[serde(default)]
    pub campaigns: Vec<String>,
    #[serde(default)]
    pub table: Option<String>,
}

impl Span {
    pub fn end(&self) -> i64 {
        self.start_us + self.dur_us
    }
    fn is_moto(&self) -> bool {
        self.kind == "aws" && !self.name.starts_with("ApiGatewayManagement")
    }
    fn has(&self, campaign: &str) -> bool {
        self.campaigns.iter().any(|c| c == campaign)
    }
    /// `DynamoDB.PutItem campaigns` style label of a moto call.
    pub fn label(&self) -> String {
        if self.kind == "stream-records" {
            return "Streams.GetRecords (the one that returned the record)".into();
        }
        match &self.table {
            Some(t) => format!("{} {}", self.name, t.rsplit('-').next().unwrap_or(t)),
            None => self.name.clone(),
        }
    }
}

/// The hops, in path order.
pub const HOPS: [&str; 9] = [
    "client → API handler (HTTP in)",
    "API handler until its SendMessage returned",
    "SQS: sent → the worker's long poll returned it",
    "receive → autostart-worker invocation",
    "autostart-worker until its commit returned",
    "stream: commit → GetRecords returned it (wait + call)",
    "GetRecords → stream-publisher invocation",
    "stream-publisher until PostToConnection",
    "push: PostToConnection → client has the event",
];

/// One campaign's path.
#[derive(Debug, Clone)]
pub struct Path {
    pub total_us: i64,
    /// Per hop: its length and the moto time on it.
    pub hops: Vec<(i64, i64)>,
    pub floor_us: i64,
    /// The moto calls on the path (label, µs).
    pub calls: Vec<(String, i64)>,
}

fn union_within(spans: &[&Span], from: i64, to: i64) -> i64 {
    let mut iv: Vec<(i64, i64)> = spans
        .iter()
        .map(|s| (s.start_us.max(from), s.end().min(to)))
        .filter(|(a, b)| b > a)
        .collect();
    iv.sort();
    let (mut total, mut cur) = (0, None::<(i64, i64)>);
    for (a, b) in iv {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    total + cur.map_or(0, |(a, b)| b - a)
}

const WRITES: [&str; 3] = ["PutItem", "UpdateItem", "TransactWriteItems"];

/// The path of `campaign`, created at `t0` (client send, µs) and seen at `t1` (client receipt).
pub fn analyze(
    spans: &[Span],
    campaign: &str,
    campaigns_table: &str,
    t0: i64,
    t1: i64,
) -> Result<Path, String> {
    let of_invocation = |inv: Option<u64>| -> Vec<&Span> {
        spans
            .iter()
            .filter(|s| s.is_moto() && s.invocation.is_some() && s.invocation == inv)
            .collect()
    };
    let api = spans
        .iter()
        .find(|s| s.kind == "http" && s.name == "POST /campaigns" && s.has(campaign))
        .ok_or("no API span for the create")?;
    let api_calls = of_invocation(api.invocation);
    let send = api_calls
        .iter()
        .filter(|s| s.name == "SQS.SendMessage")
        .max_by_key(|s| s.end())
        .ok_or("the API invocation sent no message")?;
    let worker_fn = Some("autostart-worker");
    let receive = spans
        .iter()
        .filter(|s| s.kind == "sqs-receive" && s.function.as_deref() == worker_fn)
        // The receive can return before the sender has its answer: it only has to end after
        // the send began.
        .filter(|s| s.has(campaign) && s.end() >= send.start_us)
        .min_by_key(|s| s.end())
        .ok_or("no receive of the auto-start message")?;
    let worker = spans
        .iter()
        .filter(|s| s.kind == "invoke" && s.function.as_deref() == worker_fn)
        .filter(|s| s.has(campaign) && s.start_us >= receive.end())
        .min_by_key(|s| s.start_us)
        .ok_or("no autostart-worker invocation")?;
    let worker_calls = of_invocation(worker.invocation);
    let commit = worker_calls
        .iter()
        .filter(|s| s.table.as_deref() == Some(campaigns_table))
        .filter(|s| WRITES.iter().any(|w| s.name.ends_with(w)))
        .max_by_key(|s| s.end())
        .ok_or("the worker wrote no campaign")?;
    // The push that delivered the event: the last post before the client had it, made by a
    // publisher invocation for this campaign; then the GetRecords that fed that invocation.
    // (The record can be read before the writer has its answer: the marks are kept in order.)
    let publisher_fn = Some("stream-publisher");
    let publishers: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == "invoke" && s.function.as_deref() == publisher_fn && s.has(campaign))
        .collect();
    let post = spans
        .iter()
        .filter(|s| s.kind == "aws" && s.name.ends_with("PostToConnection") && s.start_us <= t1)
        .filter(|s| publishers.iter().any(|p| p.invocation == s.invocation))
        .max_by_key(|s| s.start_us)
        .ok_or("no publisher invocation for the campaign posted before the event arrived")?;
    let publisher = publishers
        .iter()
        .find(|p| p.invocation == post.invocation)
        .ok_or("the post's invocation is unknown")?;
    let records = spans
        .iter()
        .filter(|s| s.kind == "stream-records" && s.function.as_deref() == publisher_fn)
        .filter(|s| s.has(campaign) && s.end() <= publisher.start_us)
        .max_by_key(|s| s.end())
        .ok_or("no GetRecords returned the commit")?;
    let publisher_calls = of_invocation(publisher.invocation);

    let marks = [
        t0,
        api.start_us,
        send.end(),
        receive.end(),
        worker.start_us,
        commit.end(),
        records.end(),
        publisher.start_us,
        post.start_us,
        t1,
    ];
    let mut marks = marks;
    for i in 1..marks.len() {
        marks[i] = marks[i].max(marks[i - 1]);
    }
    let records_call = [records];
    let on_hop: [&[&Span]; 9] = [
        &[],
        &api_calls,
        &[],
        &[],
        &worker_calls,
        &records_call,
        &[],
        &publisher_calls,
        &[],
    ];
    let mut hops = Vec::new();
    let mut calls = Vec::new();
    for (i, pair) in marks.windows(2).enumerate() {
        let (from, to) = (pair[0], pair[1]);
        let moto = union_within(on_hop[i], from, to);
        hops.push((to - from, moto));
        for s in on_hop[i]
            .iter()
            .filter(|s| s.end() > from && s.start_us < to)
        {
            calls.push((s.label(), s.dur_us));
        }
    }
    Ok(Path {
        total_us: t1 - t0,
        floor_us: hops.iter().map(|h| h.1).sum(),
        hops,
        calls,
    })
}

/// Moto calls per create: label → durations (µs), over many paths.
pub fn calls_by_label(paths: &[Path]) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for p in paths {
        for (label, us) in &p.calls {
            out.entry(label.clone())
                .or_default()
                .push(*us as f64 / 1000.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: &str, name: &str, start: i64, dur: i64) -> Span {
        Span {
            kind: kind.into(),
            name: name.into(),
            start_us: start,
            dur_us: dur,
            function: None,
            invocation: None,
            campaigns: vec![],
            table: None,
        }
    }

    #[test]
    fn union_merges_overlaps_and_clips() {
        let a = span("aws", "x", 0, 10);
        let b = span("aws", "x", 5, 10);
        let c = span("aws", "x", 30, 10);
        assert_eq!(union_within(&[&a, &b, &c], 0, 100), 25);
        assert_eq!(union_within(&[&a, &b, &c], 8, 35), 12);
    }

    #[test]
    fn hops_add_up_to_the_whole_and_the_floor_counts_only_path_calls() {
        let c = "c1".to_string();
        let with = |mut s: Span, f: &str, inv: Option<u64>, campaigns: bool| {
            s.function = Some(f.into());
            s.invocation = inv;
            if campaigns {
                s.campaigns = vec![c.clone()];
            }
            s
        };
        let mut put = with(
            span("aws", "DynamoDB.PutItem", 300, 50),
            "autostart-worker",
            Some(2),
            false,
        );
        put.table = Some("campaign-autostart-campaigns".into());
        let spans = vec![
            with(
                span("http", "POST /campaigns", 100, 150),
                "api",
                Some(1),
                true,
            ),
            with(
                span("aws", "DynamoDB.PutItem", 110, 40),
                "api",
                Some(1),
                false,
            ),
            with(
                span("aws", "SQS.SendMessage", 160, 20),
                "api",
                Some(1),
                false,
            ),
            with(
                span("sqs-receive", "autostart-worker", 0, 200),
                "autostart-worker",
                None,
                true,
            ),
            with(
                span("invoke", "autostart-worker", 210, 150),
                "autostart-worker",
                Some(2),
                true,
            ),
            put,
            // an idle poll of another consumer: not on the path
            with(
                span("aws", "Streams.GetRecords", 360, 5),
                "phase-dispatcher",
                None,
                false,
            ),
            with(
                span("stream-records", "stream-publisher", 380, 10),
                "stream-publisher",
                None,
                true,
            ),
            with(
                span("invoke", "stream-publisher", 395, 60),
                "stream-publisher",
                Some(3),
                true,
            ),
            with(
                span("aws", "DynamoDB.Query", 400, 20),
                "stream-publisher",
                Some(3),
                false,
            ),
            with(
                span("aws", "ApiGatewayManagement.PostToConnection", 430, 10),
                "stream-publisher",
                Some(3),
                false,
            ),
        ];
        let p = analyze(&spans, "c1", "campaign-autostart-campaigns", 90, 450).unwrap();
        assert_eq!(p.total_us, 360);
        assert_eq!(p.hops.iter().map(|h| h.0).sum::<i64>(), 360);
        // api 40 + 20, worker put 50, GetRecords 10, publisher query 20
        assert_eq!(p.floor_us, 140);
        assert_eq!(p.hops[2].0, 200 - 180);
    }
}
