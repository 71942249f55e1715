//! The queues after a scenario: every queue with a consumer (`infra/resources.json`) must end
//! empty; queues nobody consumes through an event source (the stream on-failure queue, read by
//! the sweeper on its schedule) are reported only. Also the depth series sampled during a run.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

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
    let res: Value = serde_json::from_str(include_str!("../../../../infra/resources.json"))
        .unwrap_or(Value::Null);
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
    /// What waited to be received (visible + delayed), by epoch ms: the backlog invariant 5
    /// allows for (`backlog.rs`).
    #[serde(skip)]
    pub waiting: super::backlog::Series,
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
                s.waiting.push(chrono::Utc::now().timestamp_millis(), v + d);
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), stop.changed()).await;
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(q.contains(&("campaign-autostart-stream-failures".to_string(), false)));
    }
}
