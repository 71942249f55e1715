//! The SQS workers, their dead-letter handlers and the stream dispatcher. Each case first stores
//! the campaign its fixture's message refers to (the campaign images of
//! `events/phase-dispatcher.json`: "queued" before, "discovery running" after), then checks that
//! the function's answer is a batch response with no failures and that the campaign (or a queue,
//! or the domains table) changed as the message asks.

use aws_sdk_dynamodb::types::AttributeValue as Av;
use serde_json::{Value, json};

use super::{Case, Ctx, Verdict, expect, expect_eq, no_batch_failures, timing};
use crate::fixture::{self, Fresh};
use crate::sandbox;

/// The stream fixture's `OldImage` (auto-start queued) or `NewImage` (discovery running).
pub fn campaign_image(fresh: &Fresh, image: &str) -> Result<sandbox::Item, String> {
    let ev = fixture::instantiate("phase-dispatcher.json", fresh, &fresh.token())?;
    sandbox::item(&ev["Records"][0]["dynamodb"][image])
}

pub async fn store_campaign(ctx: &Ctx, fresh: &Fresh, image: &str) -> Result<(), String> {
    ctx.sandbox
        .put("CAMPAIGNS_TABLE", campaign_image(fresh, image)?)
        .await
}

pub async fn stored_campaign(ctx: &Ctx, fresh: &Fresh) -> Result<Value, String> {
    ctx.sandbox
        .get("CAMPAIGNS_TABLE", &[("id", Av::S(fresh.campaign.clone()))])
        .await?
        .ok_or_else(|| format!("campaign {} is gone", fresh.campaign))
}

fn phase<'a>(campaign: &'a Value, name: &str) -> Result<&'a Value, String> {
    campaign["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["phase"] == name))
        .ok_or_else(|| format!("no {name} phase in {campaign}"))
}

/// A queued auto-start message for a queued campaign: discovery starts (trigger auto).
pub async fn autostart_worker(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    store_campaign(ctx, &fresh, "OldImage").await?;
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    no_batch_failures(&inv)?;
    let c = stored_campaign(ctx, &fresh).await?;
    let why = || format!("\n--- function output ---\n{}", inv.logs);
    let discovery = phase(&c, "discovery")?;
    expect_eq(
        "discovery autoStart.status",
        &discovery["autoStart"]["status"],
        &json!("started"),
    )
    .map_err(|e| e + &why())?;
    expect_eq("discovery status", &discovery["status"], &json!("running"))?;
    expect_eq("discovery trigger", &discovery["trigger"], &json!("auto"))?;
    expect_eq("version", &c["version"], &json!(2))?;
    Ok(format!("discovery started by auto-start; {}", timing(&inv)))
}

/// The auto-start request used up its receives: it is marked failed (RETRIES_EXHAUSTED).
pub async fn autostart_dlq(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    store_campaign(ctx, &fresh, "OldImage").await?;
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    no_batch_failures(&inv)?;
    let c = stored_campaign(ctx, &fresh).await?;
    let auto = &phase(&c, "discovery")?["autoStart"];
    expect_eq(
        "discovery autoStart.status",
        &auto["status"],
        &json!("failed"),
    )
    .map_err(|e| format!("{e}\n--- function output ---\n{}", inv.logs))?;
    expect_eq(
        "discovery autoStart.error.code",
        &auto["error"]["code"],
        &json!("RETRIES_EXHAUSTED"),
    )?;
    Ok(format!(
        "auto-start marked RETRIES_EXHAUSTED; {}",
        timing(&inv)
    ))
}

/// A stream MODIFY to "discovery running": the first chunk of work is sent to the phase-work queue.
pub async fn phase_dispatcher(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    no_batch_failures(&inv)?;
    let messages = ctx.sandbox.receive("PHASE_WORK_QUEUE_URL").await?;
    expect(messages.len() == 1, || {
        format!(
            "expected one phase-work message, got {messages:?}\n--- function output ---\n{}",
            inv.logs
        )
    })?;
    let body = &messages[0]["body"];
    expect_eq(
        "message campaignId",
        &body["campaignId"],
        &json!(fresh.campaign),
    )?;
    expect_eq("message phase", &body["phase"], &json!("discovery"))?;
    expect_eq("message chunk", &body["chunk"], &json!(0))?;
    Ok(format!(
        "chunk 0 of discovery sent to the phase-work queue; {}",
        timing(&inv)
    ))
}

/// Chunk 0 of a 1,000-domain discovery: the domains are written and the phase completes.
pub async fn phase_worker(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    store_campaign(ctx, &fresh, "NewImage").await?;
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    no_batch_failures(&inv)?;
    let chunk = ctx
        .sandbox
        .get(
            "DOMAINS_TABLE",
            &[
                ("campaignId", Av::S(fresh.campaign.clone())),
                // slot = chunk · 16 + phase index: discovery's chunk 0
                ("slot", Av::N("0".into())),
            ],
        )
        .await?
        .ok_or_else(|| {
            format!(
                "chunk 0 was not written\n--- function output ---\n{}",
                inv.logs
            )
        })?;
    let domains: Vec<&str> = chunk["data"].as_str().unwrap_or_default().lines().collect();
    let distinct: std::collections::BTreeSet<&&str> = domains.iter().collect();
    expect(domains.len() == 1000 && distinct.len() == 1000, || {
        format!(
            "expected 1000 distinct domains, got {} ({} distinct)",
            domains.len(),
            distinct.len()
        )
    })?;
    expect(
        domains
            .iter()
            .all(|d| d.contains("shop") && (d.ends_with(".com") || d.ends_with(".net"))),
        || {
            format!(
                "domains that do not follow the pattern: {:?}",
                &domains[..3]
            )
        },
    )?;
    let c = stored_campaign(ctx, &fresh).await?;
    let discovery = phase(&c, "discovery")?;
    expect_eq(
        "discovery status",
        &discovery["status"],
        &json!("completed"),
    )?;
    expect_eq(
        "discovery progress",
        &discovery["progress"]["done"],
        &json!(1000),
    )?;
    Ok(format!(
        "1000 domains written, discovery completed; {}",
        timing(&inv)
    ))
}

/// A chunk that failed on every receive: the phase fails with PHASE_WORK_EXHAUSTED.
pub async fn phase_dlq(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    store_campaign(ctx, &fresh, "NewImage").await?;
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    no_batch_failures(&inv)?;
    let c = stored_campaign(ctx, &fresh).await?;
    let discovery = phase(&c, "discovery")?;
    expect_eq("discovery status", &discovery["status"], &json!("failed"))
        .map_err(|e| format!("{e}\n--- function output ---\n{}", inv.logs))?;
    expect_eq(
        "discovery error",
        &discovery["error"]["code"],
        &json!("PHASE_WORK_EXHAUSTED"),
    )?;
    Ok(format!(
        "discovery failed with PHASE_WORK_EXHAUSTED; {}",
        timing(&inv)
    ))
}
