//! The campaigns table's DynamoDB stream, read independently of the WebSocket: every shard
//! from TRIM_HORIZON the first time, then on from where the last audit stopped, the records of
//! the audited campaigns in sequence order.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde_json::Value;

use super::Findings;
use super::image::Image;

/// An event's identity as clients deduplicate it (EVENTS.md): `(version, type, phase)`, the
/// phase empty for campaign-level events.
pub type EventKey = (u64, String, String);

/// One stream record of a campaign.
#[derive(Debug, Clone)]
pub struct StreamRec {
    pub sequence: String,
    pub event: String,
    pub old: Option<Image>,
    pub new: Option<Image>,
    /// The events the publisher derives from this record (before its progress throttle).
    pub events: Vec<EventKey>,
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
        .map_err(|e| format!("image: {e}"))
}

/// The events of a record, derived from its images decoded as the publisher decodes them.
fn derived_events(
    old: Option<HashMap<String, AttributeValue>>,
    new: Option<HashMap<String, AttributeValue>>,
) -> Result<Vec<EventKey>, String> {
    use campaign_shared::domain::Campaign;
    let campaign = |image: Option<HashMap<String, AttributeValue>>| {
        image
            .filter(|i| !i.is_empty())
            .map(serde_dynamo::aws_sdk_dynamodbstreams_1::from_item::<Campaign>)
            .transpose()
            .map_err(|e| format!("campaign image: {e}"))
    };
    let (old, new) = (campaign(old)?, campaign(new)?);
    Ok(
        campaign_shared::events::derive_events(old.as_ref(), new.as_ref())
            .into_iter()
            .map(|e| {
                let phase = e.phase.map(|p| p.as_str().to_string()).unwrap_or_default();
                (e.version, e.kind.as_str().to_string(), phase)
            })
            .collect(),
    )
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
                let events = derived_events(d.old_image.clone(), d.new_image.clone());
                match (decode(d.old_image), decode(d.new_image), events) {
                    (Ok(old), Ok(new), Ok(events)) => {
                        cache.by_campaign.entry(id).or_default().push(StreamRec {
                            sequence,
                            event,
                            old,
                            new,
                            events,
                        })
                    }
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => cache
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
