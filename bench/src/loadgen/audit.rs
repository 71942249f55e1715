//! The invariant audit after a scenario (BEHAVIOUR.md, invariants): every campaign settled and
//! not `queued` (1), discovery started exactly once according to the campaigns table's DynamoDB
//! stream read from TRIM_HORIZON, independently of the WebSocket (2), `version` + 1 per write in
//! the stream and never backwards in what the wizards applied (3), exactly `numDomains` domains,
//! and every queue drained.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use futures_util::StreamExt;
use integration_tests::phase;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use super::api::Api;
use super::socket::Entry;

/// A count with the first few examples.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Findings {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Findings {
    pub fn add(&mut self, what: String) {
        self.count += 1;
        if self.examples.len() < 20 {
            self.examples.push(what);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Settling: every campaign's final status
// ---------------------------------------------------------------------------------------------

/// A campaign's state at the end of the settle wait.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalState {
    pub status: Option<Value>,
    pub not_found: bool,
    pub settled: bool,
    /// Discovery had failed and was restarted by hand during the wait.
    pub resumed_by_hand: bool,
}

fn discovery_status(s: &Value) -> &str {
    phase(s, "discovery")["status"].as_str().unwrap_or("?")
}

fn auto_start_status(s: &Value) -> &str {
    s["autoStart"]["status"].as_str().unwrap_or("?")
}

/// Whether nothing more will change by itself: discovery completed and no auto-start queued,
/// or discovery never started and the auto-start ended without a start.
fn settled(s: &Value) -> bool {
    let (d, a) = (discovery_status(s), auto_start_status(s));
    a != "queued"
        && (d == "completed"
            || (d == "not_started" && matches!(a, "failed" | "cancelled" | "skipped")))
}

/// Polls every campaign's status until it settled or `until`. Like the product's client, it
/// polls a campaign when something new arrived for it on the wizard's socket (`news` = how many
/// entries its log has), and otherwise only as a slow fallback (every 20 s, longer with many
/// campaigns pending), so the audit does not compete with the workers for moto. A discovery
/// that failed (the phase-work DLQ after repeated worker crashes) is restarted by hand once, as
/// the user would. Returns how long it took when every campaign settled.
pub async fn wait_settled(
    campaigns: &[(String, Api)],
    news: &(dyn Fn(&str) -> usize + Sync),
    until: Instant,
) -> (HashMap<String, FinalState>, Option<Duration>) {
    let started = Instant::now();
    let mut states: HashMap<String, FinalState> = campaigns
        .iter()
        .map(|(id, _)| {
            (
                id.clone(),
                FinalState {
                    status: None,
                    not_found: false,
                    settled: false,
                    resumed_by_hand: false,
                },
            )
        })
        .collect();
    // Per campaign: when it was last polled and how much news it had then.
    let mut polled: HashMap<&str, (Instant, usize)> = HashMap::new();
    loop {
        let pending: Vec<&(String, Api)> = campaigns
            .iter()
            .filter(|(id, _)| !states[id].settled)
            .collect();
        if pending.is_empty() {
            return (states, Some(started.elapsed()));
        }
        let last_round = Instant::now() >= until;
        let fallback =
            Duration::from_secs(20).max(Duration::from_millis(100) * pending.len() as u32);
        let due: Vec<(&(String, Api), usize)> = pending
            .into_iter()
            .map(|c| (c, news(&c.0)))
            .filter(|((id, _), count)| {
                last_round
                    || polled
                        .get(id.as_str())
                        .is_none_or(|(at, seen)| seen != count || at.elapsed() >= fallback)
            })
            .collect();
        let results: Vec<(String, usize, Result<super::api::Resp, String>)> =
            futures_util::stream::iter(due.into_iter().map(|((id, api), count)| async move {
                (
                    id.clone(),
                    count,
                    api.get(&format!("/campaigns/{id}/status")).await,
                )
            }))
            .buffer_unordered(8)
            .collect()
            .await;
        let mut resume = Vec::new();
        for (id, count, r) in results {
            if let Some((key, _)) = campaigns.iter().find(|(c, _)| *c == id) {
                polled.insert(key.as_str(), (Instant::now(), count));
            }
            let state = states.get_mut(&id).expect("state");
            match r {
                Ok(r) if r.status == 200 => {
                    if discovery_status(&r.body) == "failed" {
                        if state.resumed_by_hand {
                            state.settled = true;
                        } else {
                            resume.push(id.clone());
                        }
                    } else {
                        state.settled = settled(&r.body);
                    }
                    state.status = Some(r.body);
                }
                Ok(r) if r.status == 404 => {
                    state.not_found = true;
                    state.settled = true;
                }
                _ => {}
            }
        }
        for id in resume {
            if let Some((_, api)) = campaigns.iter().find(|(c, _)| *c == id) {
                let _ = api
                    .call_retrying(
                        Method::POST,
                        &format!("/campaigns/{id}/phases/discovery/start"),
                        Some(&json!({})),
                        &[],
                        (Instant::now() + Duration::from_secs(30)).min(until),
                    )
                    .await;
                if let Some(s) = states.get_mut(&id) {
                    s.resumed_by_hand = true;
                }
                polled.remove(id.as_str());
            }
        }
        if last_round {
            let all = states.values().all(|s| s.settled);
            return (states, all.then(|| started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The campaigns table's stream, read independently of the WebSocket
// ---------------------------------------------------------------------------------------------

/// What the audit needs of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub version: u64,
    pub phases: BTreeMap<String, String>,
    pub auto_start: String,
}

impl Image {
    fn from_value(v: &Value) -> Option<Self> {
        Some(Self {
            version: v["version"].as_u64()?,
            phases: v["phases"]
                .as_array()?
                .iter()
                .filter_map(|p| {
                    Some((
                        p["phase"].as_str()?.to_string(),
                        p["status"].as_str()?.to_string(),
                    ))
                })
                .collect(),
            auto_start: v["autoStart"]["status"].as_str()?.to_string(),
        })
    }

    fn phase(&self, name: &str) -> &str {
        self.phases
            .get(name)
            .map(String::as_str)
            .unwrap_or("absent")
    }
}

/// One stream record of a campaign.
#[derive(Debug, Clone)]
pub struct StreamRec {
    pub sequence: String,
    pub event: String,
    pub old: Option<Image>,
    pub new: Option<Image>,
}

/// What was read from the stream for the campaigns asked for.
#[derive(Debug, Default)]
pub struct StreamRead {
    /// Every record of the stream (all campaigns) read so far in this run.
    pub records_total: usize,
    pub undecodable: Findings,
    pub by_campaign: HashMap<String, Vec<StreamRec>>,
}

/// The stream as read so far in this run: every shard is read once from TRIM_HORIZON, later
/// audits go on after the last sequence number read (a new stream ARN, after a moto restart,
/// starts over).
#[derive(Debug, Default)]
pub struct StreamCache {
    arn: Option<String>,
    /// Shard → the last sequence number read.
    shards: HashMap<String, String>,
    records_total: usize,
    by_campaign: HashMap<String, Vec<StreamRec>>,
    undecodable: HashMap<String, Vec<String>>,
}

fn decode(image: Option<HashMap<String, AttributeValue>>) -> Result<Option<Image>, String> {
    let Some(image) = image.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let value: Value = serde_dynamo::aws_sdk_dynamodbstreams_1::from_item(image)
        .map_err(|e| format!("image: {e}"))?;
    Image::from_value(&value)
        .map(Some)
        .ok_or_else(|| "image without version/phases/autoStart".to_string())
}

fn sdk_error<E: std::error::Error + 'static>(what: &str, e: E) -> String {
    format!(
        "{what}: {}",
        aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
    )
}

/// Sequence numbers are decimal strings of any length.
fn sequence_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a.len(), a).cmp(&(b.len(), b))
}

/// Reads every shard of the table's stream (from TRIM_HORIZON the first time, then on from where
/// the last read stopped) and returns the records of `ids`, in sequence order per campaign.
pub async fn read_stream(
    cache: &mut StreamCache,
    sdk: &aws_config::SdkConfig,
    table: &str,
    ids: &HashSet<String>,
    until: Instant,
) -> Result<StreamRead, String> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let arn = ddb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("DescribeTable {table}"), e))?
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| format!("table {table} has no stream"))?;
    if cache.arn.as_deref() != Some(arn.as_str()) {
        *cache = StreamCache {
            arn: Some(arn.clone()),
            ..Default::default()
        };
    }
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    for _ in 0..1000 {
        let d = streams
            .describe_stream()
            .stream_arn(&arn)
            .set_exclusive_start_shard_id(start.clone())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeStream", e))?
            .stream_description
            .ok_or("DescribeStream without a description")?;
        shards.extend(
            d.shards
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.shard_id),
        );
        match d.last_evaluated_shard_id {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    for shard in shards {
        let request = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard);
        let request = match cache.shards.get(&shard) {
            Some(last) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(last),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request
            .send()
            .await
            .map_err(|e| sdk_error("GetShardIterator", e))?
            .shard_iterator;
        while let Some(it) = iterator {
            if Instant::now() >= until {
                return Err("reading the stream took longer than its budget".into());
            }
            let page = streams
                .get_records()
                .shard_iterator(&it)
                .limit(1000)
                .send()
                .await
                .map_err(|e| sdk_error("GetRecords", e))?;
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            cache.records_total += records.len();
            for r in records {
                let event = r
                    .event_name
                    .as_ref()
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default();
                let Some(d) = r.dynamodb else { continue };
                let sequence = d.sequence_number.clone().unwrap_or_default();
                let last = cache.shards.entry(shard.clone()).or_default();
                if sequence_order(&sequence, last).is_gt() {
                    *last = sequence.clone();
                }
                let Some(id) = d
                    .keys
                    .as_ref()
                    .and_then(|k| k.get("id"))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                else {
                    continue;
                };
                match (decode(d.old_image), decode(d.new_image)) {
                    (Ok(old), Ok(new)) => {
                        cache.by_campaign.entry(id).or_default().push(StreamRec {
                            sequence,
                            event,
                            old,
                            new,
                        })
                    }
                    (Err(e), _) | (_, Err(e)) => cache
                        .undecodable
                        .entry(id.clone())
                        .or_default()
                        .push(format!("{id} {sequence}: {e}")),
                }
            }
            iterator = page.next_shard_iterator;
        }
    }
    let mut out = StreamRead {
        records_total: cache.records_total,
        ..Default::default()
    };
    for id in ids {
        if let Some(recs) = cache.by_campaign.get(id) {
            let mut recs = recs.clone();
            recs.sort_by(|a, b| sequence_order(&a.sequence, &b.sequence));
            out.by_campaign.insert(id.clone(), recs);
        }
        for e in cache.undecodable.get(id).into_iter().flatten() {
            out.undecodable.add(e.clone());
        }
    }
    Ok(out)
}

/// The stream's verdict on one campaign.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamVerdict {
    pub records: usize,
    /// Discovery entering `running` from `not_started`/`queued`/absent.
    pub starts: usize,
    /// Discovery entering `running` from `failed` (a restart by hand).
    pub resumes: usize,
    pub has_insert: bool,
    pub version_problems: Vec<String>,
}

/// Starts and version steps of one campaign's records (in sequence order).
pub fn judge_stream(recs: &[StreamRec]) -> StreamVerdict {
    let mut v = StreamVerdict {
        records: recs.len(),
        ..Default::default()
    };
    let mut previous: Option<u64> = None;
    for r in recs {
        let old = r.old.as_ref();
        let new = r.new.as_ref();
        match r.event.as_str() {
            "INSERT" => {
                v.has_insert = true;
                if let Some(n) = new
                    && n.version != 1
                {
                    v.version_problems
                        .push(format!("INSERT {} at version {}", r.sequence, n.version));
                }
            }
            "MODIFY" => match (old, new) {
                (Some(o), Some(n)) => {
                    if n.version != o.version + 1 {
                        v.version_problems.push(format!(
                            "MODIFY {}: version {} → {}",
                            r.sequence, o.version, n.version
                        ));
                    }
                    if let Some(p) = previous
                        && o.version != p
                    {
                        v.version_problems.push(format!(
                            "MODIFY {}: old image at version {} but the previous record left {}",
                            r.sequence, o.version, p
                        ));
                    }
                }
                _ => v
                    .version_problems
                    .push(format!("MODIFY {} without both images", r.sequence)),
            },
            _ => {}
        }
        let before = old.map_or("absent", |o| o.phase("discovery"));
        let after = new.map_or("absent", |n| n.phase("discovery"));
        if after == "running" && before != "running" {
            if before == "failed" {
                v.resumes += 1;
            } else {
                v.starts += 1;
            }
        }
        previous = new.map(|n| n.version);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// 3. Events the wizards received, against the stream
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAudit {
    pub received: usize,
    pub snapshots: usize,
    /// The same `(version, type)` again (at-least-once delivery; dropped by the client).
    pub duplicates: usize,
    /// Older than what a resync snapshot already covered (dropped; expected after a resync).
    pub superseded_by_resync: usize,
    /// A new event older than an event already applied: delivery out of version order.
    pub out_of_order: Findings,
    pub applied: usize,
    /// Applied versions going backwards (the client's rule makes this impossible; checked).
    pub applied_regressions: Findings,
    /// Events whose version or status does not match the stream image of that version.
    pub mismatches: Findings,
}

/// Applies EVENTS.md's client rule to every wizard's log (campaigns in `images` only) and
/// checks each event against the stream image with its version.
pub fn audit_events(
    logs: &[HashMap<String, Vec<Entry>>],
    images: &HashMap<String, HashMap<u64, Image>>,
) -> EventAudit {
    let mut a = EventAudit::default();
    for log in logs {
        for (campaign, entries) in log {
            let Some(versions) = images.get(campaign) else {
                continue;
            };
            let mut seen: HashSet<(u64, String)> = HashSet::new();
            let mut last_applied = 0u64;
            let mut last_event = 0u64;
            let mut applied_versions: Vec<u64> = Vec::new();
            for entry in entries {
                match entry {
                    Entry::Snapshot { version, .. } => {
                        a.snapshots += 1;
                        last_applied = last_applied.max(*version);
                    }
                    Entry::Event { event, .. } => {
                        a.received += 1;
                        let version = event["version"].as_u64().unwrap_or_default();
                        let kind = event["type"].as_str().unwrap_or_default().to_string();
                        if !seen.insert((version, kind.clone())) {
                            a.duplicates += 1;
                            continue;
                        }
                        check_against_stream(&mut a, campaign, event, versions);
                        if version < last_applied {
                            if version < last_event {
                                a.out_of_order.add(format!(
                                    "{campaign}: {kind} v{version} arrived after v{last_event}"
                                ));
                            } else {
                                a.superseded_by_resync += 1;
                            }
                            continue;
                        }
                        if let Some(&before) = applied_versions.last()
                            && version < before
                        {
                            a.applied_regressions
                                .add(format!("{campaign}: applied v{version} after v{before}"));
                        }
                        applied_versions.push(version);
                        a.applied += 1;
                        last_applied = version;
                        last_event = last_event.max(version);
                    }
                }
            }
        }
    }
    a
}

fn check_against_stream(
    a: &mut EventAudit,
    campaign: &str,
    event: &Value,
    versions: &HashMap<u64, Image>,
) {
    let version = event["version"].as_u64().unwrap_or_default();
    let kind = event["type"].as_str().unwrap_or_default();
    if kind == "campaign_deleted" {
        return;
    }
    let Some(image) = versions.get(&version) else {
        a.mismatches.add(format!(
            "{campaign}: {kind} v{version}: no stream record with that version"
        ));
        return;
    };
    let status = event["status"].as_str();
    if kind.starts_with("phase_") {
        let name = event["phase"].as_str().unwrap_or_default();
        if status != Some(image.phase(name)) {
            a.mismatches.add(format!(
                "{campaign}: {kind} v{version} says {name} {status:?}, the image says {}",
                image.phase(name)
            ));
        }
    } else if kind.starts_with("auto_start_") && status != Some(image.auto_start.as_str()) {
        a.mismatches.add(format!(
            "{campaign}: {kind} v{version} says autoStart {status:?}, the image says {}",
            image.auto_start
        ));
    } else if kind == "campaign_created" && version != 1 {
        a.mismatches
            .add(format!("{campaign}: campaign_created at v{version}"));
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Queues
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueState {
    pub name: String,
    /// A queue with a consumer must end empty; others (the stream on-failure queue) are reported.
    pub checked: bool,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    /// The most seen at once during the drain wait.
    pub max_seen: u64,
}

impl QueueState {
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// The queues of `infra/resources.json`: (name, has a consumer).
pub fn queue_names() -> Vec<(String, bool)> {
    let res: Value =
        serde_json::from_str(include_str!("../../../infra/resources.json")).unwrap_or(Value::Null);
    let consumed: HashSet<&str> = res["functions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["source"].as_str())
        .collect();
    let mut out = Vec::new();
    for q in res["queues"].as_array().into_iter().flatten() {
        if let Some(name) = q["name"].as_str() {
            let id = q["logicalId"].as_str().unwrap_or_default();
            out.push((name.to_string(), consumed.contains(id)));
        }
        if let Some(name) = q["deadLetter"]["name"].as_str() {
            let id = q["deadLetter"]["logicalId"].as_str().unwrap_or_default();
            out.push((name.to_string(), consumed.contains(id)));
        }
    }
    out
}

/// `(visible, in flight, delayed)` of one queue.
async fn queue_counts(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<(u64, u64, u64), String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .attributes
        .unwrap_or_default();
    let n = |k: A| {
        attrs
            .get(&k)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((
        n(A::ApproximateNumberOfMessages),
        n(A::ApproximateNumberOfMessagesNotVisible),
        n(A::ApproximateNumberOfMessagesDelayed),
    ))
}

/// `(url, name, consumed)` of every queue of `infra/resources.json` that exists; an error when
/// a consumed one does not.
async fn queue_urls(sqs: &aws_sdk_sqs::Client) -> Result<Vec<(String, String, bool)>, String> {
    let mut out = Vec::new();
    for (name, checked) in queue_names() {
        match sqs.get_queue_url().queue_name(&name).send().await {
            Ok(q) => out.push((q.queue_url.unwrap_or_default(), name, checked)),
            Err(e) if checked => {
                return Err(format!(
                    "GetQueueUrl {name}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                ));
            }
            Err(_) => {}
        }
    }
    Ok(out)
}

/// Waits (until `until`) for every consumed queue to be empty; the last counts of every queue.
pub async fn drain_queues(
    sdk: &aws_config::SdkConfig,
    until: Instant,
) -> Result<Vec<QueueState>, String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut queues: Vec<(String, QueueState)> = queue_urls(&sqs)
        .await?
        .into_iter()
        .map(|(url, name, checked)| {
            (
                url,
                QueueState {
                    name,
                    checked,
                    visible: 0,
                    in_flight: 0,
                    delayed: 0,
                    max_seen: 0,
                },
            )
        })
        .collect();
    loop {
        for (url, q) in queues.iter_mut() {
            let (visible, in_flight, delayed) = queue_counts(&sqs, url)
                .await
                .map_err(|e| format!("GetQueueAttributes {}: {e}", q.name))?;
            q.visible = visible;
            q.in_flight = in_flight;
            q.delayed = delayed;
            q.max_seen = q.max_seen.max(q.total());
        }
        let busy = queues.iter().any(|(_, q)| q.checked && q.total() > 0);
        if !busy || Instant::now() >= until {
            return Ok(queues.into_iter().map(|(_, q)| q).collect());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until every consumed queue is empty at two samples in a row (1 s apart) or `until`;
/// whether they drained.
pub async fn wait_queues_quiet(sdk: &aws_config::SdkConfig, until: Instant) -> bool {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut quiet = 0;
    while Instant::now() < until {
        let urls = queue_urls(&sqs).await.unwrap_or_default();
        let mut empty = !urls.is_empty();
        for (url, _, _) in urls.iter().filter(|(_, _, checked)| *checked) {
            match queue_counts(&sqs, url).await {
                Ok((v, f, d)) if v + f + d == 0 => {}
                _ => empty = false,
            }
        }
        quiet = if empty { quiet + 1 } else { 0 };
        if quiet >= 2 {
            return true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    false
}

/// A queue's depth (visible + in flight + delayed) over a scenario.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSeries {
    pub max: u64,
    /// Seconds since the scenario started when the maximum was seen.
    pub max_at_s: f64,
    /// `[seconds since the scenario started, depth]`, every 2 s.
    pub samples: Vec<(f64, u64)>,
}

/// Samples every queue's depth every 2 s until `stop` turns true (errors, e.g. during a moto
/// restart, skip a sample).
pub async fn sample_queues(
    sdk: aws_config::SdkConfig,
    started: Instant,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> BTreeMap<String, QueueSeries> {
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut series: BTreeMap<String, QueueSeries> = BTreeMap::new();
    let mut urls = Vec::new();
    while !*stop.borrow() {
        if urls.is_empty() {
            urls = queue_urls(&sqs).await.unwrap_or_default();
        }
        for (url, name, _) in &urls {
            if let Ok((v, f, d)) = queue_counts(&sqs, url).await {
                let t = started.elapsed().as_secs_f64();
                let s = series.entry(name.clone()).or_default();
                if v + f + d > s.max {
                    s.max = v + f + d;
                    s.max_at_s = t;
                }
                s.samples.push(((t * 10.0).round() / 10.0, v + f + d));
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), stop.changed()).await;
    }
    series
}

// ---------------------------------------------------------------------------------------------
// 5. Domains
// ---------------------------------------------------------------------------------------------

/// Checks the domains of every completed campaign against the expected list; returns
/// (checked, exact, problems).
pub async fn check_domains(
    completed: &[(String, Api)],
    expected: &[String],
    until: Instant,
) -> (usize, usize, Findings) {
    let results: Vec<(String, Result<Vec<String>, String>)> = futures_util::stream::iter(
        completed
            .iter()
            .map(|(id, api)| async move { (id.clone(), api.all_domains(id, until).await) }),
    )
    .buffer_unordered(8)
    .collect()
    .await;
    let mut exact = 0;
    let mut problems = Findings::default();
    for (id, r) in results {
        match r {
            Ok(domains) if domains == expected => exact += 1,
            Ok(domains) => {
                let distinct: HashSet<&String> = domains.iter().collect();
                problems.add(format!(
                    "{id}: {} domains ({} distinct), expected {}",
                    domains.len(),
                    distinct.len(),
                    expected.len()
                ));
            }
            Err(e) => problems.add(format!("{id}: {e}")),
        }
    }
    (completed.len(), exact, problems)
}

/// A short text of a final status for the per-state counts.
pub fn state_key(f: &FinalState) -> String {
    match (&f.status, f.not_found) {
        (_, true) => "not found (404)".into(),
        (None, _) => "status unknown".into(),
        (Some(s), _) => {
            let err = s["autoStart"]["error"]["code"]
                .as_str()
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            format!(
                "discovery {} · autoStart {} ({}{err})",
                discovery_status(s),
                auto_start_status(s),
                s["autoStart"]["phase"].as_str().unwrap_or("-")
            )
        }
    }
}

/// Invariant 1 of one final status: not `queued`; discovery running/completed, or the
/// auto-start failed/cancelled/skipped with a reason.
pub fn invariant1(s: &Value) -> Result<(), String> {
    let (d, a) = (discovery_status(s), auto_start_status(s));
    if a == "queued" {
        return Err(format!(
            "autoStart still queued for {} since {} (discovery {d}, version {})",
            s["autoStart"]["phase"].as_str().unwrap_or("?"),
            s["autoStart"]["requestedAt"].as_str().unwrap_or("?"),
            s["version"]
        ));
    }
    if matches!(d, "running" | "completed") {
        return Ok(());
    }
    match a {
        "failed" if s["autoStart"]["error"]["code"].is_string() => Ok(()),
        "failed" => Err("autoStart failed without a reason".into()),
        "cancelled" | "skipped" => Ok(()),
        other => Err(format!("discovery {d} with autoStart {other}")),
    }
}

/// A short text of an optional status.
pub fn brief(s: Option<&Value>) -> String {
    match s {
        Some(s) => format!(
            "discovery {} · autoStart {}",
            discovery_status(s),
            auto_start_status(s)
        ),
        None => "no status".into(),
    }
}

/// Whether a final status shows discovery started (running, completed or failed).
pub fn started(s: &Value) -> bool {
    matches!(discovery_status(s), "running" | "completed" | "failed")
}

/// Whether a final status shows discovery completed.
pub fn completed(s: &Value) -> bool {
    discovery_status(s) == "completed"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(version: u64, discovery: &str, auto_start: &str) -> Image {
        Image {
            version,
            phases: [("discovery".to_string(), discovery.to_string())].into(),
            auto_start: auto_start.into(),
        }
    }

    fn rec(seq: u64, event: &str, old: Option<Image>, new: Option<Image>) -> StreamRec {
        StreamRec {
            sequence: seq.to_string(),
            event: event.into(),
            old,
            new,
        }
    }

    fn normal_history() -> Vec<StreamRec> {
        vec![
            rec(1, "INSERT", None, Some(image(1, "not_started", "queued"))),
            rec(
                2,
                "MODIFY",
                Some(image(1, "not_started", "queued")),
                Some(image(2, "running", "started")),
            ),
            rec(
                3,
                "MODIFY",
                Some(image(2, "running", "started")),
                Some(image(3, "completed", "queued")),
            ),
        ]
    }

    #[test]
    fn a_normal_history_has_one_start_and_clean_versions() {
        let v = judge_stream(&normal_history());
        assert_eq!((v.starts, v.resumes, v.records), (1, 0, 3));
        assert!(v.has_insert);
        assert!(v.version_problems.is_empty(), "{:?}", v.version_problems);
    }

    #[test]
    fn a_second_start_and_version_jumps_are_found() {
        let mut h = normal_history();
        // running → not_started → running again: two starts; and a write that skipped a version.
        h[2] = rec(
            3,
            "MODIFY",
            Some(image(2, "running", "started")),
            Some(image(3, "not_started", "started")),
        );
        h.push(rec(
            4,
            "MODIFY",
            Some(image(3, "not_started", "started")),
            Some(image(5, "running", "started")),
        ));
        let v = judge_stream(&h);
        assert_eq!(v.starts, 2);
        assert_eq!(v.version_problems.len(), 1, "{:?}", v.version_problems);
        // A lost write between two records (old image not where the previous one left off).
        let mut h = normal_history();
        h[2].old = Some(image(7, "running", "started"));
        h[2].new = Some(image(8, "completed", "queued"));
        assert_eq!(judge_stream(&h).version_problems.len(), 1);
    }

    #[test]
    fn a_restart_after_failure_is_a_resume_not_a_start() {
        let mut h = normal_history();
        h[2] = rec(
            3,
            "MODIFY",
            Some(image(2, "running", "started")),
            Some(image(3, "failed", "started")),
        );
        h.push(rec(
            4,
            "MODIFY",
            Some(image(3, "failed", "started")),
            Some(image(4, "running", "started")),
        ));
        let v = judge_stream(&h);
        assert_eq!((v.starts, v.resumes), (1, 1));
    }

    fn event(kind: &str, version: u64, status: &str) -> Entry {
        Entry::Event {
            event: json!({"type": kind, "campaignId": "c", "phase": "discovery", "status": status, "version": version}),
            latency_ms: None,
            received: Instant::now(),
            connection: 1,
        }
    }

    fn images() -> HashMap<String, HashMap<u64, Image>> {
        let versions = normal_history()
            .into_iter()
            .filter_map(|r| r.new)
            .map(|i| (i.version, i))
            .collect();
        [("c".to_string(), versions)].into()
    }

    #[test]
    fn duplicates_are_dropped_and_order_violations_counted() {
        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                event("auto_start_queued", 1, "queued"),
                event("phase_auto_started", 2, "running"),
                event("phase_auto_started", 2, "running"),
                event("phase_completed", 3, "completed"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!((a.received, a.applied, a.duplicates), (4, 3, 1));
        assert_eq!(a.out_of_order.count + a.mismatches.count, 0);

        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                event("phase_completed", 3, "completed"),
                event("phase_auto_started", 2, "running"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!(a.out_of_order.count, 1);
        assert_eq!(a.applied, 1);
    }

    #[test]
    fn events_older_than_a_resync_are_superseded_not_out_of_order() {
        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                Entry::Snapshot {
                    version: 3,
                    status: json!({}),
                    received: Instant::now(),
                },
                event("phase_auto_started", 2, "running"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!((a.superseded_by_resync, a.out_of_order.count), (1, 0));
    }

    #[test]
    fn events_that_do_not_match_the_stream_are_mismatches() {
        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                event("phase_auto_started", 3, "running"),
                event("phase_progress", 9, "running"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!(a.mismatches.count, 2, "{:?}", a.mismatches);
    }

    #[test]
    fn invariant_one() {
        let s = |d: &str, a: &str, code: Option<&str>| {
            json!({"phases": [{"phase": "discovery", "status": d}],
                   "autoStart": {"status": a, "error": code.map(|c| json!({"code": c}))}})
        };
        assert!(invariant1(&s("completed", "failed", Some("INVALID_CONFIG"))).is_ok());
        assert!(invariant1(&s("running", "started", None)).is_ok());
        assert!(invariant1(&s("not_started", "failed", Some("ENQUEUE_FAILED"))).is_ok());
        assert!(invariant1(&s("not_started", "failed", None)).is_err());
        assert!(invariant1(&s("not_started", "queued", None)).is_err());
        assert!(invariant1(&s("completed", "queued", None)).is_err());
        assert!(settled(&s("completed", "failed", Some("INVALID_CONFIG"))));
        assert!(!settled(&s("running", "started", None)));
        assert!(!settled(&s("completed", "queued", None)));
    }

    #[test]
    fn the_queues_come_from_resources_json() {
        let q = queue_names();
        for name in [
            "campaign-autostart-autostart",
            "campaign-autostart-autostart-dlq",
            "campaign-autostart-phase-work",
            "campaign-autostart-phase-work-dlq",
        ] {
            assert!(q.contains(&(name.to_string(), true)), "{name} in {q:?}");
        }
    }
}
