//! Per-user quota counters on DynamoDB (API.md "Limits"), changed in the same transaction as the
//! campaign write that takes or releases them, so a counter never disagrees with the campaigns:
//!
//! - `active#<owner>` `{slots}`: campaigns holding an active slot; +1 conditional on
//!   `slots < limit`, −1 without a condition (a write that releases a slot must never be refused);
//! - `domains#<owner>#<UTC day>` `{domains, expiresAt}`: domains discovery started that day; +n
//!   conditional on `domains ≤ limit − n`; the item expires two days later (TTL).

use std::sync::Arc;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue as Av, TransactWriteItem, Update};
use chrono::{Duration, NaiveDate, Utc};

use super::aws::Aws;
use super::{Usage, Write};
use crate::error::{AppError, classify_sdk_error};

fn active_key(owner: &str) -> String {
    format!("active#{owner}")
}

fn domains_key(owner: &str, day: &str) -> String {
    format!("domains#{owner}#{day}")
}

/// The counter updates of `usage`, in the order [`quota_of`] names them.
pub fn counter_updates(table: &str, usage: &Usage) -> Result<Vec<TransactWriteItem>, AppError> {
    let mut items = Vec::new();
    let update = |b: aws_sdk_dynamodb::types::builders::UpdateBuilder| -> Result<TransactWriteItem, AppError> {
        Ok(TransactWriteItem::builder()
            .update(b.build().map_err(AppError::internal)?)
            .build())
    };
    if usage.active != 0 {
        let mut b = Update::builder()
            .table_name(table)
            .key("pk", Av::S(active_key(&usage.owner)))
            .update_expression("ADD slots :d")
            .expression_attribute_values(":d", Av::N(usage.active.to_string()));
        if usage.active > 0 {
            b = b
                .condition_expression("attribute_not_exists(slots) OR slots < :limit")
                .expression_attribute_values(":limit", Av::N(usage.active_limit.to_string()));
        }
        items.push(update(b)?);
    }
    if usage.domains > 0 {
        let room = usage
            .domains_limit
            .checked_sub(usage.domains)
            .ok_or_else(|| quota_error(usage, Quota::Domains, 0))?;
        let expires = day_end(&usage.day) + Duration::days(2);
        let b = Update::builder()
            .table_name(table)
            .key("pk", Av::S(domains_key(&usage.owner, &usage.day)))
            .update_expression("ADD domains :n SET expiresAt = :ttl")
            .condition_expression("attribute_not_exists(domains) OR domains <= :room")
            .expression_attribute_values(":n", Av::N(usage.domains.to_string()))
            .expression_attribute_values(":room", Av::N(room.to_string()))
            .expression_attribute_values(":ttl", Av::N(expires.timestamp().to_string()));
        items.push(update(b)?);
    }
    Ok(items)
}

/// Which quota a counter update (by its position among [`counter_updates`]) enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Active,
    Domains,
}

pub fn quota_of(usage: &Usage, position: usize) -> Quota {
    match (usage.active != 0, position) {
        (true, 0) => Quota::Active,
        _ => Quota::Domains,
    }
}

/// The start of the UTC day after `day` (`yyyy-mm-dd`).
fn day_end(day: &str) -> chrono::DateTime<Utc> {
    let date =
        NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap_or_else(|_| Utc::now().date_naive());
    (date + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// The 429 of a refused counter; `used` is the counter's value (when it was read).
pub fn quota_error(usage: &Usage, quota: Quota, used: u64) -> AppError {
    match quota {
        Quota::Active => AppError::QuotaExceeded {
            quota: "activeCampaigns",
            problem: format!(
                "{} of {} in use",
                used.max(usage.active_limit),
                usage.active_limit
            ),
            retry_after: None,
        },
        Quota::Domains => AppError::QuotaExceeded {
            quota: "domainsPerDay",
            problem: format!(
                "{used} of {} domains generated today (UTC); this start needs {} more",
                usage.domains_limit, usage.domains
            ),
            retry_after: Some((day_end(&usage.day) - Utc::now()).num_seconds().max(1) as u64),
        },
    }
}

/// Runs a transaction of `ops` (each campaign- or idempotency-item write, whose failed condition
/// means `Conflict`) followed by the counter updates of `usage`. A counter's failed condition is
/// the quota's 429.
pub async fn transact(
    aws: &Arc<Aws>,
    quotas_table: &str,
    ops: Vec<TransactWriteItem>,
    usage: &Usage,
) -> Result<Write, AppError> {
    let first_counter = ops.len();
    let mut items = ops;
    items.extend(counter_updates(quotas_table, usage)?);
    let res = aws
        .ddb()
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    let err = match res {
        Ok(_) => return Ok(Write::Done),
        Err(e) => e,
    };
    let reasons = match &err {
        SdkError::ServiceError(s) => match s.err() {
            TransactWriteItemsError::TransactionCanceledException(t) => {
                t.cancellation_reasons().to_vec()
            }
            _ => return Err(classify_sdk_error(err)),
        },
        _ => return Err(classify_sdk_error(err)),
    };
    let failed = |i: usize| reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed");
    if (0..first_counter).any(failed) {
        return Ok(Write::Conflict);
    }
    if let Some(i) = (first_counter..reasons.len()).find(|i| failed(*i)) {
        let quota = quota_of(usage, i - first_counter);
        let (slots, domains) = read_usage(aws, quotas_table, &usage.owner, &usage.day)
            .await
            .unwrap_or((0, 0));
        let used = if quota == Quota::Active {
            slots
        } else {
            domains
        };
        return Err(quota_error(usage, quota, used));
    }
    // cancelled for another reason (a concurrent transaction on the same item): try again
    Err(AppError::Unavailable(format!(
        "transaction cancelled: {reasons:?}"
    )))
}

/// The owner's active slots and the day's domains.
pub async fn read_usage(
    aws: &Arc<Aws>,
    table: &str,
    owner: &str,
    day: &str,
) -> Result<(u64, u64), AppError> {
    let get = |key: String, attr: &'static str| async move {
        let out = aws
            .ddb()
            .get_item()
            .table_name(table)
            .key("pk", Av::S(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok::<u64, AppError>(match out.item.as_ref().and_then(|i| i.get(attr)) {
            Some(Av::N(n)) => n.parse::<i64>().map_err(AppError::internal)?.max(0) as u64,
            _ => 0,
        })
    };
    let (a, d) = futures_util::future::join(
        get(active_key(owner), "slots"),
        get(domains_key(owner, day), "domains"),
    )
    .await;
    Ok((a?, d?))
}
