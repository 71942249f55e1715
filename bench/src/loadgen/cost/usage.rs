//! Readings of the local stack's meters (`GET /_local/usage`: the gateway's Lambda, HTTP API and
//! WebSocket counters and moto's `/_meter`, see local/src/usage.rs and scripts/moto_meter.py)
//! and the difference of two readings: what the stack was asked between them.
//!
//! Invariants: every counter only grows between two readings of one stack, so a difference is a
//! count of what happened in between; a counter that went backwards (moto restarted) is an error,
//! never a negative count.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// One function's invocations between two readings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocations {
    pub invocations: f64,
    pub errors: f64,
    pub billed_ms: f64,
    pub duration_us: f64,
    pub aws_wait_us: f64,
}

/// One row of moto's meter: who (`fn:<function>`, `esm:<function>`, `gateway`, `other`) asked
/// which service for what, and the billed quantities.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub caller: String,
    pub service: String,
    pub op: String,
    pub table: String,
    pub requests: f64,
    /// SQS: billed requests (64 KB chunks).
    pub billed: f64,
    pub messages: f64,
    pub empty_receives: f64,
    pub items: f64,
    pub rru: f64,
    pub wru: f64,
    pub index_wru: f64,
}

impl Row {
    fn counts_anything(&self) -> bool {
        [
            self.requests,
            self.billed,
            self.messages,
            self.empty_receives,
            self.items,
            self.rru,
            self.wru,
            self.index_wru,
        ]
        .iter()
        .any(|v| *v != 0.0)
    }
}

/// What the stack was asked between two readings.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub seconds: f64,
    pub functions: BTreeMap<String, Invocations>,
    pub http_requests: f64,
    pub http_billed: f64,
    pub ws_messages_in: f64,
    pub ws_messages_out: f64,
    pub ws_billed: f64,
    pub ws_connections: f64,
    pub ws_connection_seconds: f64,
    pub ws_connection_minutes: f64,
    pub rows: Vec<Row>,
    /// Bytes stored per table (and `table/index`), item overhead included: the change.
    pub storage_bytes: BTreeMap<String, f64>,
}

/// `GET /_local/usage` of the stack at `api_url`.
pub async fn read(http: &reqwest::Client, api_url: &str) -> Result<Value, String> {
    let url = format!("{api_url}/_local/usage");
    answer(&url, http.get(&url)).await
}

/// The JSON answer of `request` to `url`; an error for any status but success.
async fn answer(url: &str, request: reqwest::RequestBuilder) -> Result<Value, String> {
    let r = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {body}"));
    }
    Ok(body)
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn grew(what: &str, before: f64, after: f64) -> Result<f64, String> {
    let d = after - before;
    if d < -1e-9 {
        return Err(format!(
            "{what} went down from {before} to {after}: the stack was restarted between the readings"
        ));
    }
    Ok(d.max(0.0))
}

fn rows_of(reading: &Value) -> BTreeMap<(String, String, String, String), Value> {
    let mut out = BTreeMap::new();
    for moto in reading["moto"].as_array().into_iter().flatten() {
        for row in moto["meter"]["rows"].as_array().into_iter().flatten() {
            let key = |k: &str| row[k].as_str().unwrap_or_default().to_string();
            out.insert(
                (key("caller"), key("service"), key("op"), key("table")),
                row.clone(),
            );
        }
    }
    out
}

fn storage_of(reading: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for moto in reading["moto"].as_array().into_iter().flatten() {
        for (table, s) in moto["meter"]["storage"].as_object().into_iter().flatten() {
            out.insert(table.clone(), num(&s["bytes"]));
            for (index, i) in s["indexes"].as_object().into_iter().flatten() {
                out.insert(format!("{table}/{index}"), num(&i["bytes"]));
            }
        }
    }
    out
}

/// Turns moto's DynamoDB request units on (`POST /_local/usage`; moto meters requests only by
/// default) and answers that reading.
pub async fn units_on(http: &reqwest::Client, api_url: &str) -> Result<Value, String> {
    let url = format!("{api_url}/_local/usage");
    let request = http.post(&url).json(&serde_json::json!({"units": true}));
    answer(&url, request).await
}

/// Every moto meter of the reading counted request units (no zeros for units never metered).
fn units_were_on(reading: &Value) -> Result<(), String> {
    for moto in reading["moto"].as_array().into_iter().flatten() {
        if moto["meter"]["units"] != Value::Bool(true) {
            return Err(format!(
                "moto at {} did not meter request units (POST /_local/usage {{\"units\": true}} first)",
                moto["endpoint"]
            ));
        }
    }
    Ok(())
}

/// What happened between the readings `before` and `after`.
pub fn delta(before: &Value, after: &Value) -> Result<Usage, String> {
    units_were_on(before)?;
    units_were_on(after)?;
    let d = |path: &[&str]| {
        let get = |v: &Value| path.iter().fold(v.clone(), |v, k| v[*k].clone());
        grew(&path.join("."), num(&get(before)), num(&get(after)))
    };
    let mut functions = BTreeMap::new();
    for (name, a) in after["functions"].as_object().into_iter().flatten() {
        let b = &before["functions"][name];
        let f = |k: &str| grew(&format!("{name}.{k}"), num(&b[k]), num(&a[k]));
        let inv = Invocations {
            invocations: f("invocations")?,
            errors: f("errors")?,
            billed_ms: f("billedMs")?,
            duration_us: f("durationUs")?,
            aws_wait_us: f("awsWaitUs")?,
        };
        if inv.invocations > 0.0 {
            functions.insert(name.clone(), inv);
        }
    }
    let (rb, ra) = (rows_of(before), rows_of(after));
    let mut rows = Vec::new();
    for ((caller, service, op, table), a) in &ra {
        let b = rb
            .get(&(caller.clone(), service.clone(), op.clone(), table.clone()))
            .cloned()
            .unwrap_or(Value::Null);
        let f = |k: &str| {
            grew(
                &format!("{caller} {service} {op} {table} {k}"),
                num(&b[k]),
                num(&a[k]),
            )
        };
        let row = Row {
            caller: caller.clone(),
            service: service.clone(),
            op: op.clone(),
            table: table.clone(),
            requests: f("requests")?,
            billed: f("billed")?,
            messages: f("messages")?,
            empty_receives: f("emptyReceives")?,
            items: f("items")?,
            rru: f("rru")?,
            wru: f("wru")?,
            index_wru: f("indexWru")?,
        };
        if row.counts_anything() {
            rows.push(row);
        }
    }
    let (sb, sa) = (storage_of(before), storage_of(after));
    let storage_bytes = sa
        .iter()
        .map(|(t, a)| (t.clone(), a - sb.get(t).copied().unwrap_or(0.0)))
        .collect();
    Ok(Usage {
        seconds: (num(&after["atUnixMs"]) - num(&before["atUnixMs"])) / 1000.0,
        functions,
        http_requests: d(&["httpApi", "requests"])?,
        http_billed: d(&["httpApi", "billedRequests"])?,
        ws_messages_in: d(&["webSocket", "messagesIn"])?,
        ws_messages_out: d(&["webSocket", "messagesOut"])?,
        ws_billed: d(&["webSocket", "billedMessages"])?,
        ws_connections: d(&["webSocket", "connections"])?,
        ws_connection_seconds: d(&["webSocket", "connectionSeconds"])?,
        ws_connection_minutes: d(&["webSocket", "connectionMinutesRoundedUp"])?,
        rows,
        storage_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reading(invocations: u64, wru: f64, bytes: u64) -> Value {
        json!({
            "atUnixMs": 1000 * invocations,
            "functions": {"api": {"invocations": invocations, "errors": 0, "billedMs": 3 * invocations, "durationUs": 2500 * invocations, "awsWaitUs": 1000 * invocations}},
            "httpApi": {"requests": invocations, "billedRequests": invocations},
            "webSocket": {"messagesIn": 0, "messagesOut": 2 * invocations, "billedMessages": 2 * invocations, "connections": 1, "open": 0, "connectionSeconds": 30.0, "connectionMinutesRoundedUp": 1},
            "moto": [{"endpoint": "x", "meter": {"units": true, "rows": [
                {"caller": "fn:api", "service": "dynamodb", "op": "PutItem", "table": "t", "requests": invocations, "items": invocations, "wru": wru, "indexWru": 1.0}
            ], "storage": {"t": {"items": 1, "bytes": bytes, "indexes": {}}}}}]
        })
    }

    #[test]
    fn the_difference_of_two_readings() {
        let u = delta(&reading(2, 2.0, 100), &reading(5, 7.0, 400)).unwrap();
        assert_eq!(u.seconds, 3.0);
        assert_eq!(u.functions["api"].invocations, 3.0);
        assert_eq!(u.functions["api"].billed_ms, 9.0);
        assert_eq!(u.http_billed, 3.0);
        assert_eq!(u.ws_billed, 6.0);
        assert_eq!(u.ws_connection_minutes, 0.0);
        assert_eq!(u.rows.len(), 1);
        assert_eq!(
            (u.rows[0].requests, u.rows[0].wru, u.rows[0].index_wru),
            (3.0, 5.0, 0.0)
        );
        assert_eq!(u.storage_bytes["t"], 300.0);
    }

    #[test]
    fn a_counter_going_backwards_is_an_error() {
        let e = delta(&reading(5, 7.0, 1), &reading(2, 2.0, 1)).unwrap_err();
        assert!(e.contains("restarted"), "{e}");
    }

    #[test]
    fn readings_without_request_units_are_an_error() {
        let mut off = reading(2, 0.0, 1);
        off["moto"][0]["meter"]["units"] = json!(false);
        let e = delta(&off, &reading(5, 7.0, 1)).unwrap_err();
        assert!(e.contains("did not meter request units"), "{e}");
    }
}
