//! Usage priced: what one run of the cost scenario asked of each service, as billed line items at
//! the list prices of `prices.rs`.
//!
//! What is charged to the campaigns: every Lambda invocation but the sweeper's and what those
//! invocations asked of DynamoDB and SQS (`fn:` callers); the event-source mappings' SQS receives
//! that returned messages and their deletes (`esm:`); their DynamoDB Streams reads are free
//! (Lambda triggers); HTTP API requests; WebSocket messages and connection-minutes.
//! Apart, not per campaign: the sweeper (a schedule, once a minute in AWS, every few seconds
//! here: priced per run), the mappings' empty receives (idle polling, a matter of time, not of
//! campaigns), and the local stack's and load generator's own calls (`gateway`, `other`: never
//! in AWS). Storage is per month kept.
//!
//! Invariants: a function without a configuration in the template, or an architecture without a
//! price, is an error, never a default.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::prices as p;
use super::usage::Usage;

mod inputs;

pub use inputs::{FunctionConfig, load_functions, retained_tables};

/// One billed quantity and its price.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub service: &'static str,
    pub item: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub usd: f64,
}

fn line(
    service: &'static str,
    item: impl Into<String>,
    quantity: f64,
    unit: &'static str,
    price: f64,
) -> Line {
    Line {
        service,
        item: item.into(),
        quantity,
        unit,
        usd: quantity * price,
    }
}

/// DynamoDB request units by table (and `table/index` for queries of an index).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableUnits {
    pub requests: f64,
    pub wru: f64,
    pub index_wru: f64,
    pub rru: f64,
}

/// One function's invocations, priced.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCost {
    pub invocations: f64,
    pub billed_ms: f64,
    pub aws_wait_ms: f64,
    pub gb_seconds: f64,
    pub usd: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Priced {
    /// Every function's requests and duration (the sweeper's too).
    pub functions: BTreeMap<String, FunctionCost>,
    /// Charged to the campaigns.
    pub lines: Vec<Line>,
    /// Not per campaign (sweeper runs, idle polling): priced per unit of time elsewhere.
    pub apart: Vec<Line>,
    /// Per month the data is kept.
    pub storage: Vec<Line>,
    pub tables: BTreeMap<String, TableUnits>,
    /// Local-only calls (the gateway's set-up, the load generator's reads): requests, not priced.
    pub unpriced_requests: f64,
    pub sweeper_runs: f64,
}

impl Priced {
    pub fn total(lines: &[Line]) -> f64 {
        lines.iter().map(|l| l.usd).sum()
    }
}

/// Prices `u` (see the module docs for what is charged to the campaigns).
pub fn price(
    u: &Usage,
    functions: &BTreeMap<String, FunctionConfig>,
    retained: &BTreeSet<String>,
) -> Result<Priced, String> {
    let mut out = Priced::default();
    let (mut requests, mut gb_s) = (0.0, BTreeMap::<String, f64>::new());
    for (name, inv) in &u.functions {
        let cfg = functions.get(name).ok_or(format!(
            "function {name} has no configuration in infra/template.yaml"
        ))?;
        let price_gb_s = p::gb_second(&cfg.architecture)?;
        let gbs = inv.billed_ms / 1000.0 * cfg.memory_mb / 1024.0;
        out.functions.insert(
            name.clone(),
            FunctionCost {
                invocations: inv.invocations,
                billed_ms: inv.billed_ms,
                aws_wait_ms: inv.aws_wait_us / 1000.0,
                gb_seconds: gbs,
                usd: inv.invocations * p::LAMBDA_REQUEST + gbs * price_gb_s,
            },
        );
        if name == "sweeper" {
            out.sweeper_runs = inv.invocations;
            out.apart.push(line(
                "Lambda",
                "sweeper requests",
                inv.invocations,
                "requests",
                p::LAMBDA_REQUEST,
            ));
            out.apart
                .push(line("Lambda", "sweeper duration", gbs, "GB-s", price_gb_s));
            continue;
        }
        requests += inv.invocations;
        *gb_s.entry(cfg.architecture.clone()).or_default() += gbs;
    }
    out.lines.push(line(
        "Lambda",
        "requests",
        requests,
        "requests",
        p::LAMBDA_REQUEST,
    ));
    for (arch, gbs) in gb_s {
        out.lines.push(line(
            "Lambda",
            format!("duration ({arch})"),
            gbs,
            "GB-s",
            p::gb_second(&arch)?,
        ));
    }

    let (mut wru, mut index_wru, mut rru, mut sqs, mut streams) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sweep_wru, mut sweep_rru, mut sweep_sqs, mut idle) = (0.0, 0.0, 0.0, 0.0);
    for r in &u.rows {
        let (kind, function) = r.caller.split_once(':').unwrap_or((r.caller.as_str(), ""));
        match kind {
            "fn" if function == "sweeper" => {
                sweep_wru += r.wru + r.index_wru;
                sweep_rru += r.rru;
                sweep_sqs += r.billed;
                continue;
            }
            "fn" | "esm" => {}
            _ => {
                out.unpriced_requests += r.requests;
                continue;
            }
        }
        match r.service.as_str() {
            "dynamodb" => {
                wru += r.wru;
                index_wru += r.index_wru;
                rru += r.rru;
                let t = out.tables.entry(r.table.clone()).or_default();
                t.requests += r.requests;
                t.wru += r.wru;
                t.index_wru += r.index_wru;
                t.rru += r.rru;
            }
            "sqs" => {
                let empty = if kind == "esm" { r.empty_receives } else { 0.0 };
                idle += empty;
                sqs += r.billed - empty;
            }
            // GetRecords by a Lambda trigger's mapping is free; by a function, billed.
            "streams" if kind == "fn" && r.op == "GetRecords" => streams += r.requests,
            _ => {}
        }
    }
    out.lines.push(line(
        "DynamoDB",
        "writes, tables",
        wru,
        "WRU",
        p::DYNAMODB_WRU,
    ));
    out.lines.push(line(
        "DynamoDB",
        "writes, global secondary indexes",
        index_wru,
        "WRU",
        p::DYNAMODB_WRU,
    ));
    out.lines
        .push(line("DynamoDB", "reads", rru, "RRU", p::DYNAMODB_RRU));
    out.lines.push(line(
        "DynamoDB Streams",
        "reads by functions",
        streams,
        "requests",
        p::STREAMS_READ,
    ));
    out.lines.push(line(
        "SQS",
        "requests (64 KB chunks)",
        sqs,
        "requests",
        p::SQS_REQUEST,
    ));
    out.lines.push(line(
        "API Gateway",
        "HTTP API requests",
        u.http_billed,
        "requests",
        p::HTTP_API_REQUEST,
    ));
    out.lines.push(line(
        "API Gateway",
        "WebSocket messages",
        u.ws_billed,
        "messages",
        p::WS_MESSAGE,
    ));
    out.lines.push(line(
        "API Gateway",
        "WebSocket connection-minutes",
        u.ws_connection_minutes,
        "minutes",
        p::WS_CONNECTION_MINUTE,
    ));

    out.apart.push(line(
        "DynamoDB",
        "sweeper writes",
        sweep_wru,
        "WRU",
        p::DYNAMODB_WRU,
    ));
    out.apart.push(line(
        "DynamoDB",
        "sweeper reads",
        sweep_rru,
        "RRU",
        p::DYNAMODB_RRU,
    ));
    out.apart.push(line(
        "SQS",
        "sweeper requests",
        sweep_sqs,
        "requests",
        p::SQS_REQUEST,
    ));
    out.apart.push(line(
        "SQS",
        "empty receives of the event-source mappings (idle polling)",
        idle,
        "requests",
        p::SQS_REQUEST,
    ));

    for (table, bytes) in &u.storage_bytes {
        let gb = bytes / 1e9;
        out.storage.push(line(
            "DynamoDB",
            format!("storage {table}"),
            gb,
            "GB-month",
            p::DYNAMODB_GB_MONTH,
        ));
        if retained.contains(table) {
            out.storage.push(line(
                "DynamoDB",
                format!("PITR {table}"),
                gb,
                "GB-month",
                p::PITR_GB_MONTH,
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
