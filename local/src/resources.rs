//! Creates the tables and queues of `infra/resources.json` on moto, idempotently. That file is
//! generated from the SAM template by `scripts/gen_resources.py` (`make resources`), so the local
//! stack has exactly the template's tables, keys, indexes, streams, queues and redrive policies.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use serde::Deserialize;

pub const RESOURCES_JSON: &str = include_str!("../../infra/resources.json");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    pub tables: Vec<Table>,
    pub queues: Vec<QueueDef>,
    pub functions: Vec<FunctionDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gsi {
    pub name: String,
    pub hash_key: Key,
    pub range_key: Option<Key>,
    /// `ALL` or `KEYS_ONLY`.
    pub projection: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub name: String,
    pub hash_key: Key,
    pub range_key: Option<Key>,
    pub stream: Option<String>,
    #[serde(default)]
    pub gsis: Vec<Gsi>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub logical_id: String,
    pub name: String,
    pub max_receive_count: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDef {
    pub logical_id: String,
    pub name: String,
    pub visibility_timeout_seconds: u32,
    pub dead_letter: Option<DeadLetter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDef {
    pub dir: String,
    pub trigger: String,
    pub source: Option<String>,
    pub batch_size: Option<i32>,
    /// The SQS mapping's `ScalingConfig.MaximumConcurrency`.
    pub maximum_concurrency: Option<usize>,
    pub maximum_retry_attempts: Option<u32>,
    /// A stream mapping's on-failure destination (`DestinationConfig.OnFailure`): a queue's
    /// logical id.
    pub on_failure: Option<String>,
    pub timeout_seconds: Option<u64>,
}

impl FunctionDef {
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout_seconds
            .map(std::time::Duration::from_secs)
            .unwrap_or(crate::pollers::FUNCTION_TIMEOUT)
    }
}

impl Resources {
    pub fn load() -> Self {
        serde_json::from_str(RESOURCES_JSON).expect("infra/resources.json is valid")
    }

    /// The queue name behind a logical id (a queue or a dead-letter queue).
    pub fn queue_name(&self, logical_id: &str) -> Option<&str> {
        self.queues.iter().find_map(|q| match &q.dead_letter {
            _ if q.logical_id == logical_id => Some(q.name.as_str()),
            Some(dl) if dl.logical_id == logical_id => Some(dl.name.as_str()),
            _ => None,
        })
    }
}

fn attr(key: &Key) -> AttributeDefinition {
    let kind = match key.kind.as_str() {
        "N" => ScalarAttributeType::N,
        "B" => ScalarAttributeType::B,
        _ => ScalarAttributeType::S,
    };
    AttributeDefinition::builder()
        .attribute_name(&key.name)
        .attribute_type(kind)
        .build()
        .expect("attribute")
}

fn schema(hash: &Key, range: Option<&Key>) -> Vec<KeySchemaElement> {
    let mut out = vec![
        KeySchemaElement::builder()
            .attribute_name(&hash.name)
            .key_type(KeyType::Hash)
            .build()
            .expect("key"),
    ];
    if let Some(r) = range {
        out.push(
            KeySchemaElement::builder()
                .attribute_name(&r.name)
                .key_type(KeyType::Range)
                .build()
                .expect("key"),
        );
    }
    out
}

/// Keeps the resources there: moto holds its state in memory, so a restarted moto comes back
/// empty. Checks that `probe_table` and the first queue exist (DynamoDB and SQS run in two moto
/// processes, either may restart) and re-creates what is missing (what was stored before is
/// gone; the pollers find the new queues and stream by themselves). It looks at most once a
/// second, soon after moto rejected a request (a lost table or queue answers 400) and otherwise
/// every `LOCAL_WATCHDOG_SECONDS` (10): an idle stack does not poll moto every second.
pub async fn keep_created(
    ddb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    res: std::sync::Arc<Resources>,
    probe_table: String,
    activity: crate::activity::Activity,
    every: std::time::Duration,
) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let _ = tokio::time::timeout(every, activity.next_rejection()).await;
        let table_missing = match ddb.describe_table().table_name(&probe_table).send().await {
            Err(e) => e
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()),
            Ok(_) => false,
        };
        let queue_missing = match res.queues.first() {
            Some(q) => match sqs.get_queue_url().queue_name(&q.name).send().await {
                Err(e) => e
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()),
                Ok(_) => false,
            },
            None => false,
        };
        if table_missing || queue_missing {
            tracing::warn!(
                "moto lost its tables or queues (restarted?); creating the resources again"
            );
            match create_all(&ddb, &sqs, &res).await {
                Ok(()) => tracing::warn!("resources created again; earlier data is lost"),
                Err(e) => tracing::warn!(error = %e, "could not create the resources yet"),
            }
        }
    }
}

pub async fn create_all(
    ddb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    res: &Resources,
) -> Result<(), String> {
    let existing = ddb
        .list_tables()
        .send()
        .await
        .map_err(|e| format!("list tables: {e:?}"))?
        .table_names
        .unwrap_or_default();
    for t in &res.tables {
        if existing.contains(&t.name) {
            continue;
        }
        let mut defs = vec![attr(&t.hash_key)];
        defs.extend(t.range_key.iter().map(attr));
        let mut req = ddb
            .create_table()
            .table_name(&t.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(schema(&t.hash_key, t.range_key.as_ref())));
        for g in &t.gsis {
            for k in std::iter::once(&g.hash_key).chain(g.range_key.iter()) {
                if !defs.iter().any(|d| d.attribute_name() == k.name) {
                    defs.push(attr(k));
                }
            }
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.name)
                    .set_key_schema(Some(schema(&g.hash_key, g.range_key.as_ref())))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(g.projection.as_str()))
                            .build(),
                    )
                    .build()
                    .expect("gsi"),
            );
        }
        if let Some(view) = &t.stream {
            req = req.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str()))
                    .build()
                    .expect("stream"),
            );
        }
        req.set_attribute_definitions(Some(defs))
            .send()
            .await
            .map_err(|e| format!("create table {}: {e:?}", t.name))?;
        if let Some(ttl) = &t.ttl_attribute {
            ddb.update_time_to_live()
                .table_name(&t.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(ttl)
                        .build()
                        .expect("ttl"),
                )
                .send()
                .await
                .map_err(|e| format!("ttl {}: {e:?}", t.name))?;
        }
    }
    for q in &res.queues {
        let mut dlq_arn = None;
        if let Some(dl) = &q.dead_letter {
            let url = sqs
                .create_queue()
                .queue_name(&dl.name)
                .send()
                .await
                .map_err(|e| format!("create queue {}: {e:?}", dl.name))?
                .queue_url
                .unwrap_or_default();
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| format!("queue arn: {e:?}"))?;
            dlq_arn = attrs
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned());
        }
        let mut attributes = HashMap::from([(
            QueueAttributeName::VisibilityTimeout,
            q.visibility_timeout_seconds.to_string(),
        )]);
        if let (Some(dl), Some(arn)) = (&q.dead_letter, dlq_arn) {
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": dl.max_receive_count});
            attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        // An existing queue (moto kept running) gets the current attributes; a new one is created.
        match sqs.get_queue_url().queue_name(&q.name).send().await {
            Ok(out) => {
                sqs.set_queue_attributes()
                    .queue_url(out.queue_url.unwrap_or_default())
                    .set_attributes(Some(attributes))
                    .send()
                    .await
                    .map_err(|e| format!("update queue {}: {e:?}", q.name))?;
            }
            Err(_) => {
                sqs.create_queue()
                    .queue_name(&q.name)
                    .set_attributes(Some(attributes))
                    .send()
                    .await
                    .map_err(|e| format!("create queue {}: {e:?}", q.name))?;
            }
        }
    }
    Ok(())
}
