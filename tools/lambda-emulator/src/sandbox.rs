//! Private tables and queues on moto for one test run: every table and queue of
//! `infra/resources.json`, named `bt<run>-<name>`, created without streams, and deleted again by
//! [`Sandbox::destroy`].
//!
//! Invariant: nothing but the invoked function touches them. The local gateway, which shares moto
//! with this test, polls its own queues and its own table's stream, so it never consumes a message
//! a function sent here or reacts to an item written here; every side effect the checks see is the
//! invocation's.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use serde_json::{Map, Number, Value};

pub const RESOURCES_JSON: &str = include_str!("../../../infra/resources.json");

pub type Item = HashMap<String, Av>;

pub struct Sandbox {
    pub ddb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// env variable (`CAMPAIGNS_TABLE`, `AUTOSTART_QUEUE_URL`, …) → private name or URL.
    pub env: BTreeMap<String, String>,
    tables: Vec<String>,
    queues: Vec<String>,
}

fn key_type(kind: &str) -> ScalarAttributeType {
    match kind {
        "N" => ScalarAttributeType::N,
        "B" => ScalarAttributeType::B,
        _ => ScalarAttributeType::S,
    }
}

fn key(v: &Value, kind: KeyType) -> Result<(KeySchemaElement, AttributeDefinition), String> {
    let name = v["name"].as_str().ok_or("a key without a name")?;
    let element = KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| e.to_string())?;
    let def = AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(key_type(v["type"].as_str().unwrap_or("S")))
        .build()
        .map_err(|e| e.to_string())?;
    Ok((element, def))
}

fn keys(def: &Value) -> Result<(Vec<KeySchemaElement>, Vec<AttributeDefinition>), String> {
    let mut schema = Vec::new();
    let mut attrs = Vec::new();
    let (e, a) = key(&def["hashKey"], KeyType::Hash)?;
    schema.push(e);
    attrs.push(a);
    if !def["rangeKey"].is_null() {
        let (e, a) = key(&def["rangeKey"], KeyType::Range)?;
        schema.push(e);
        attrs.push(a);
    }
    Ok((schema, attrs))
}

impl Sandbox {
    /// Creates the private tables and queues.
    pub async fn create(aws: &aws_config::SdkConfig) -> Result<Self, String> {
        let resources: Value = serde_json::from_str(RESOURCES_JSON).map_err(|e| e.to_string())?;
        let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let mut sandbox = Self {
            ddb: aws_sdk_dynamodb::Client::new(aws),
            sqs: aws_sdk_sqs::Client::new(aws),
            env: BTreeMap::new(),
            tables: Vec::new(),
            queues: Vec::new(),
        };
        let empty = Vec::new();
        for t in resources["tables"].as_array().unwrap_or(&empty) {
            let name = format!(
                "bt{run}-{}",
                t["name"].as_str().ok_or("a table without a name")?
            );
            let (schema, mut attrs) = keys(t)?;
            let mut req = sandbox
                .ddb
                .create_table()
                .table_name(&name)
                .billing_mode(BillingMode::PayPerRequest)
                .set_key_schema(Some(schema));
            for g in t["gsis"].as_array().unwrap_or(&empty) {
                let (schema, more) = keys(g)?;
                for a in more {
                    if !attrs.iter().any(|b| b.attribute_name == a.attribute_name) {
                        attrs.push(a);
                    }
                }
                let projection = Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build();
                req = req.global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(g["name"].as_str().ok_or("a GSI without a name")?)
                        .set_key_schema(Some(schema))
                        .projection(projection)
                        .build()
                        .map_err(|e| e.to_string())?,
                );
            }
            req.set_attribute_definitions(Some(attrs))
                .send()
                .await
                .map_err(|e| format!("create table {name}: {e:?}"))?;
            sandbox.tables.push(name.clone());
            if let Some(env) = t["env"].as_str() {
                sandbox.env.insert(env.to_string(), name);
            }
        }
        for q in resources["queues"].as_array().unwrap_or(&empty) {
            let name = format!(
                "bt{run}-{}",
                q["name"].as_str().ok_or("a queue without a name")?
            );
            let url = sandbox
                .sqs
                .create_queue()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| format!("create queue {name}: {e:?}"))?
                .queue_url
                .ok_or("create queue: no URL")?;
            sandbox.queues.push(url.clone());
            if let Some(env) = q["env"].as_str() {
                sandbox.env.insert(env.to_string(), url);
            }
        }
        Ok(sandbox)
    }

    /// Deletes everything [`Sandbox::create`] made (best effort; reports what it could not).
    pub async fn destroy(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for t in &self.tables {
            if let Err(e) = self.ddb.delete_table().table_name(t).send().await {
                problems.push(format!("delete table {t}: {e}"));
            }
        }
        for q in &self.queues {
            if let Err(e) = self.sqs.delete_queue().queue_url(q).send().await {
                problems.push(format!("delete queue {q}: {e}"));
            }
        }
        problems
    }

    /// The private name (or URL) behind an env variable of `infra/resources.json`.
    pub fn name(&self, env: &str) -> &str {
        self.env
            .get(env)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{env} is not an env variable of infra/resources.json"))
    }

    pub async fn put(&self, table_env: &str, item: Item) -> Result<(), String> {
        self.ddb
            .put_item()
            .table_name(self.name(table_env))
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| format!("put into {table_env}: {e:?}"))?;
        Ok(())
    }

    /// The item with `key` as plain JSON ([`plain`]), if there is one (consistent read).
    pub async fn get(&self, table_env: &str, key: &[(&str, Av)]) -> Result<Option<Value>, String> {
        let out = self
            .ddb
            .get_item()
            .table_name(self.name(table_env))
            .set_key(Some(
                key.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("get from {table_env}: {e:?}"))?;
        Ok(out.item.as_ref().map(plain))
    }

    /// Every message on a queue (waits up to a second for the first), bodies parsed as JSON.
    pub async fn receive(&self, queue_env: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        loop {
            let page = self
                .sqs
                .receive_message()
                .queue_url(self.name(queue_env))
                .max_number_of_messages(10)
                .wait_time_seconds(if out.is_empty() { 1 } else { 0 })
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| format!("receive from {queue_env}: {e:?}"))?;
            let messages = page.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(out);
            }
            for m in messages {
                let body = m.body.unwrap_or_default();
                let correlation = m
                    .message_attributes
                    .as_ref()
                    .and_then(|a| a.get("correlationId"))
                    .and_then(|a| a.string_value.clone());
                out.push(serde_json::json!({
                    "body": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)),
                    "correlationIdAttribute": correlation,
                }));
            }
        }
    }
}

/// A DynamoDB JSON value (`{"S": "…"}`, `{"M": {…}}`, … as in stream records) as an SDK value.
pub fn attribute(v: &Value) -> Result<Av, String> {
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| format!("not a DynamoDB value: {v}"))?;
    let (kind, inner) = obj.iter().next().expect("one entry");
    let strings = |v: &Value| -> Result<Vec<String>, String> {
        v.as_array()
            .ok_or("a set must be an array")?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "a set of strings".to_string())
            })
            .collect()
    };
    Ok(match kind.as_str() {
        "S" => Av::S(inner.as_str().ok_or("S must be a string")?.to_string()),
        "N" => Av::N(inner.as_str().ok_or("N must be a string")?.to_string()),
        "BOOL" => Av::Bool(inner.as_bool().ok_or("BOOL must be a boolean")?),
        "NULL" => Av::Null(true),
        "SS" => Av::Ss(strings(inner)?),
        "NS" => Av::Ns(strings(inner)?),
        "L" => Av::L(
            inner
                .as_array()
                .ok_or("L must be an array")?
                .iter()
                .map(attribute)
                .collect::<Result<_, _>>()?,
        ),
        "M" => Av::M(item(inner)?),
        other => return Err(format!("unsupported DynamoDB type {other}")),
    })
}

/// A DynamoDB JSON item (a stream record's `NewImage`) as an SDK item.
pub fn item(v: &Value) -> Result<Item, String> {
    v.as_object()
        .ok_or_else(|| format!("not a DynamoDB item: {v}"))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), attribute(v)?)))
        .collect()
}

/// An SDK item as plain JSON: strings, numbers, booleans, null, arrays (lists and sets), objects.
pub fn plain(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), plain_value(v)))
            .collect::<Map<_, _>>(),
    )
}

fn plain_value(v: &Av) -> Value {
    let number = |n: &str| {
        n.parse::<i64>()
            .map(Number::from)
            .ok()
            .or_else(|| n.parse::<f64>().ok().and_then(Number::from_f64))
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(n.to_string()))
    };
    match v {
        Av::S(s) => Value::String(s.clone()),
        Av::N(n) => number(n),
        Av::Bool(b) => Value::Bool(*b),
        Av::Null(_) => Value::Null,
        Av::Ss(s) => Value::Array(s.iter().cloned().map(Value::String).collect()),
        Av::Ns(s) => Value::Array(s.iter().map(|n| number(n)).collect()),
        Av::L(l) => Value::Array(l.iter().map(plain_value).collect()),
        Av::M(m) => plain(m),
        other => Value::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dynamodb_json_round_trips_to_plain_json() {
        let image = json!({
            "id": {"S": "c1"}, "version": {"N": "2"}, "ok": {"BOOL": true}, "none": {"NULL": true},
            "tags": {"SS": ["a", "b"]},
            "phases": {"L": [{"M": {"status": {"S": "running"}, "done": {"N": "0.5"}}}]}
        });
        let got = plain(&item(&image).unwrap());
        assert_eq!(
            got,
            json!({"id": "c1", "version": 2, "ok": true, "none": null, "tags": ["a", "b"],
                   "phases": [{"status": "running", "done": 0.5}]})
        );
        assert!(attribute(&json!({"X": 1})).is_err());
        assert!(attribute(&json!({"S": "a", "N": "1"})).is_err());
    }
}
