//! The HTTP API function (API Gateway HTTP API, payload 2.0 in, the v2 response out).

use serde_json::{Value, json};

use super::{Case, Ctx, Verdict, expect, expect_eq, timing};
use crate::fixture::Fresh;
use crate::runtime_api::Invocation;

/// The v2 response's status and its body parsed as JSON.
fn http_response(inv: &Invocation) -> Result<(i64, Value, &Value), String> {
    let r = inv.response()?;
    let status = r["statusCode"]
        .as_i64()
        .ok_or_else(|| format!("no statusCode in the response: {r}"))?;
    expect(r["isBase64Encoded"] == json!(false), || {
        format!("isBase64Encoded should be false: {r}")
    })?;
    let body = r["body"]
        .as_str()
        .ok_or_else(|| format!("the body is not a string: {r}"))?;
    let body =
        serde_json::from_str(body).map_err(|e| format!("the body is not JSON ({e}): {body}"))?;
    Ok((status, body, &r["headers"]))
}

pub async fn health(ctx: &Ctx, case: &Case) -> Verdict {
    let inv = ctx
        .invoke(case.function, &case.event(&Fresh::new())?, &[])
        .await?;
    let (status, body, headers) = http_response(&inv)?;
    expect_eq("GET /health status", &json!(status), &json!(200))?;
    expect_eq("GET /health body", &body, &json!({"status": "ok"}))?;
    expect_eq(
        "content-type",
        &headers["content-type"],
        &json!("application/json"),
    )?;
    Ok(format!("200 {{\"status\":\"ok\"}}; {}", timing(&inv)))
}

/// POST /campaigns (Full Auto): 201 with the campaign, the campaign stored with the caller as
/// owner, the auto-start message on the queue; the same request again (same Idempotency-Key, a
/// new cold start) answers the same campaign and sends nothing more.
pub async fn create_campaign(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    let event = case.event(&fresh)?;
    let inv = ctx.invoke(case.function, &event, &[]).await?;
    let (status, body, headers) = http_response(&inv)?;
    expect_eq("POST /campaigns status", &json!(status), &json!(201))
        .map_err(|e| format!("{e}; body {body}\n--- function output ---\n{}", inv.logs))?;
    let id = body["id"]
        .as_str()
        .ok_or_else(|| format!("no id in {body}"))?
        .to_string();
    expect_eq("mode", &body["mode"], &json!("full_sequence"))?;
    expect_eq(
        "autoStart.status",
        &body["autoStart"]["status"],
        &json!("queued"),
    )?;
    expect_eq(
        "location",
        &headers["location"],
        &json!(format!("/campaigns/{id}")),
    )?;

    let stored = ctx
        .sandbox
        .get(
            "CAMPAIGNS_TABLE",
            &[("id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))],
        )
        .await?
        .ok_or_else(|| {
            format!("campaign {id} was answered 201 but is not in the campaigns table")
        })?;
    expect_eq(
        "stored ownerId (the JWT claims' sub)",
        &stored["ownerId"],
        &json!(fresh.owner),
    )?;
    expect_eq("stored name", &stored["name"], &json!("Shoes Q4"))?;
    let discovery = stored["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["phase"] == "discovery"))
        .ok_or_else(|| format!("no discovery phase in {stored}"))?;
    expect_eq(
        "stored discovery autoStart.status",
        &discovery["autoStart"]["status"],
        &json!("queued"),
    )?;

    let messages = ctx.sandbox.receive("AUTOSTART_QUEUE_URL").await?;
    expect(messages.len() == 1, || {
        format!("expected one auto-start message, got {messages:?}")
    })?;
    let m = &messages[0];
    expect_eq(
        "auto-start message campaignId",
        &m["body"]["campaignId"],
        &json!(id),
    )?;
    expect_eq(
        "auto-start message phase",
        &m["body"]["phase"],
        &json!("discovery"),
    )?;
    expect_eq(
        "correlationId attribute",
        &m["correlationIdAttribute"],
        &stored["correlationId"],
    )?;

    let again = ctx.invoke(case.function, &event, &[]).await?;
    let (status2, body2, _) = http_response(&again)?;
    expect_eq("the replayed POST status", &json!(status2), &json!(201))?;
    expect_eq("the replayed campaign id", &body2["id"], &json!(id))?;
    let more = ctx.sandbox.receive("AUTOSTART_QUEUE_URL").await?;
    expect(more.is_empty(), || {
        format!("the replay sent another message: {more:?}")
    })?;
    Ok(format!(
        "201, stored for the caller, one auto-start message, idempotent replay; {}",
        timing(&inv)
    ))
}
