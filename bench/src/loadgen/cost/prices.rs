//! The published on-demand list prices the cost model uses: US East (N. Virginia), us-east-1,
//! as read on [`PRICE_DATE`] from the pages in [`SOURCES`]. First pricing tier of each service
//! (the volumes here are far below the next tiers); no free tier, no Savings Plans.
//!
//! Updating a price: change it here and the date, and re-run `make bench`; docs/DEPLOY.md's
//! table is copied from `target/bench/cost.md`.

/// When the prices below were read from the pages.
pub const PRICE_DATE: &str = "2026-11-29";
pub const REGION: &str = "us-east-1 (US East, N. Virginia)";

/// Lambda: per request.
pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
/// Lambda on Arm (Graviton), first 7.5 billion GB-s a month: per GB-second.
pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
/// Lambda on x86_64, first 6 billion GB-s a month (a function not built for arm64).
pub const LAMBDA_X86_GB_SECOND: f64 = 0.000_016_666_7;
/// DynamoDB on-demand, Standard table class: per write request unit.
pub const DYNAMODB_WRU: f64 = 0.625 / 1e6;
/// DynamoDB on-demand, Standard table class: per read request unit.
pub const DYNAMODB_RRU: f64 = 0.125 / 1e6;
/// DynamoDB Streams: per streams read request unit (`GetRecords`), except Lambda triggers' (free).
pub const STREAMS_READ: f64 = 0.02 / 100_000.0;
/// DynamoDB storage (Standard): per GB-month (25 GB a month free, not deducted).
pub const DYNAMODB_GB_MONTH: f64 = 0.25;
/// Point-in-time recovery: per GB-month of table size.
pub const PITR_GB_MONTH: f64 = 0.20;
/// SQS standard queue: per request (64 KB chunk), first 100 billion a month.
pub const SQS_REQUEST: f64 = 0.40 / 1e6;
/// API Gateway HTTP API: per request (512 KB increment), first 300 million a month.
pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
/// API Gateway WebSocket API: per message (32 KB increment), first billion a month.
pub const WS_MESSAGE: f64 = 1.00 / 1e6;
/// API Gateway WebSocket API: per connection-minute.
pub const WS_CONNECTION_MINUTE: f64 = 0.25 / 1e6;

/// Where each price was read.
pub const SOURCES: &[(&str, &str)] = &[
    ("Lambda", "https://aws.amazon.com/lambda/pricing/"),
    (
        "DynamoDB on-demand (request units, storage, PITR, Streams)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    (
        "DynamoDB Streams reads by Lambda triggers are free",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html",
    ),
    ("SQS", "https://aws.amazon.com/sqs/pricing/"),
    (
        "API Gateway (HTTP and WebSocket APIs)",
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
];

/// GB-second price of an architecture as the template names it.
pub fn gb_second(architecture: &str) -> Result<f64, String> {
    match architecture {
        "arm64" => Ok(LAMBDA_ARM_GB_SECOND),
        "x86_64" => Ok(LAMBDA_X86_GB_SECOND),
        other => Err(format!("no Lambda price for architecture {other:?}")),
    }
}
