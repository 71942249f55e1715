//! The WebSocket functions (`$connect` authorizer, `$connect`, `subscribe`, `$disconnect`) and
//! the stream publisher. Answers a function sends through the Management API are recorded by the
//! emulator (`WS_MANAGEMENT_ENDPOINT` points at it) and checked here.

use aws_sdk_dynamodb::types::AttributeValue as Av;
use serde_json::{Value, json};

use super::pipeline::store_campaign;
use super::{Case, Ctx, Verdict, expect, expect_eq, no_batch_failures, timing};
use crate::fixture::{self, AUDIENCE, Fresh, LOCAL_SECRET};
use crate::runtime_api::{Invocation, Outcome};

fn topic(fresh: &Fresh) -> String {
    format!("campaign#{}", fresh.campaign)
}

/// The key of the marker a campaign subscription puts in its owner's topic first
/// (`store::dynamo_ws`, decision 47): the publisher reads campaign topics only where one is.
fn marker_key(fresh: &Fresh) -> [(&'static str, Av); 2] {
    [
        ("topic", Av::S(format!("owner#{}", fresh.owner))),
        (
            "connectionId",
            Av::S(format!("campaigns#{}", fresh.connection)),
        ),
    ]
}

/// A live connection of `fresh.owner`, as `$connect` and `subscribe` leave it.
async fn store_connection(ctx: &Ctx, fresh: &Fresh, topics: &[String]) -> Result<(), String> {
    let now = fresh.now_ms / 1000;
    let mut item = sandbox_item(&[
        ("connectionId", Av::S(fresh.connection.clone())),
        ("ownerId", Av::S(fresh.owner.clone())),
        (
            "connectedAt",
            Av::S(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        ),
        ("expiresAt", Av::N((now + 3600).to_string())),
    ]);
    if !topics.is_empty() {
        item.insert("topics".into(), Av::Ss(topics.to_vec()));
    }
    ctx.sandbox.put("CONNECTIONS_TABLE", item).await
}

/// The subscription to `fresh.campaign`, as `subscribe` leaves it: its owner's marker, then the
/// subscription itself.
async fn store_subscription(ctx: &Ctx, fresh: &Fresh) -> Result<(), String> {
    let [topic_key, connection_key] = marker_key(fresh);
    let marker = sandbox_item(&[
        topic_key,
        connection_key,
        ("ownerId", Av::S(fresh.owner.clone())),
        ("expiresAt", Av::N((fresh.now_ms / 1000 + 3600).to_string())),
    ]);
    ctx.sandbox.put("SUBSCRIPTIONS_TABLE", marker).await?;
    let item = sandbox_item(&[
        ("topic", Av::S(topic(fresh))),
        ("connectionId", Av::S(fresh.connection.clone())),
        ("ownerId", Av::S(fresh.owner.clone())),
        ("expiresAt", Av::N((fresh.now_ms / 1000 + 3600).to_string())),
    ]);
    ctx.sandbox.put("SUBSCRIPTIONS_TABLE", item).await
}

fn sandbox_item(pairs: &[(&str, Av)]) -> crate::sandbox::Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

async fn connection(ctx: &Ctx, fresh: &Fresh) -> Result<Option<Value>, String> {
    ctx.sandbox
        .get(
            "CONNECTIONS_TABLE",
            &[("connectionId", Av::S(fresh.connection.clone()))],
        )
        .await
}

async fn marker(ctx: &Ctx, fresh: &Fresh) -> Result<Option<Value>, String> {
    ctx.sandbox
        .get("SUBSCRIPTIONS_TABLE", &marker_key(fresh))
        .await
}

async fn subscription(ctx: &Ctx, fresh: &Fresh) -> Result<Option<Value>, String> {
    ctx.sandbox
        .get(
            "SUBSCRIPTIONS_TABLE",
            &[
                ("topic", Av::S(topic(fresh))),
                ("connectionId", Av::S(fresh.connection.clone())),
            ],
        )
        .await
}

/// The route's integration response: `{"statusCode": …}` (only the status matters).
fn route_status(inv: &Invocation, want: i64) -> Result<(), String> {
    let r = inv.response()?;
    expect_eq("the route's statusCode", &r["statusCode"], &json!(want))
        .map_err(|e| format!("{e} (response {r})\n--- function output ---\n{}", inv.logs))
}

/// The IAM policy answer allowing `fresh.owner` on the event's method ARN.
fn expect_allowed(inv: &Invocation, fresh: &Fresh, method_arn: &Value) -> Result<(), String> {
    let r = inv.response()?;
    expect_eq("principalId", &r["principalId"], &json!(fresh.owner))?;
    expect_eq("context", &r["context"], &json!({"sub": fresh.owner}))?;
    expect_eq(
        "policy version",
        &r["policyDocument"]["Version"],
        &json!("2012-10-17"),
    )?;
    let statement = &r["policyDocument"]["Statement"];
    expect_eq(
        "policy statement",
        statement,
        &json!([{"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [method_arn]}]),
    )
}

/// Three cold starts: the deployed configuration (the issuer's JWKS fetched at init from the
/// emulator, an RS256 token), the local stack's (`JWT_SECRET`, HS256), and an expired token,
/// which must be the invocation error `Unauthorized` (API Gateway's 401).
pub async fn authorizer(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    let jwks = ctx
        .invoke_with(case.function, |emu| {
            let token = fixture::rs256(&fresh.claims(&emu.issuer(), 600));
            let event = fixture::instantiate(case.event, &fresh, &token)?;
            let env = vec![
                ("JWT_ISSUER".to_string(), emu.issuer()),
                ("JWT_AUDIENCE".to_string(), AUDIENCE.to_string()),
            ];
            Ok((event, env))
        })
        .await?;
    let method_arn = case.event(&fresh)?["methodArn"].clone();
    expect_allowed(&jwks, &fresh, &method_arn)
        .map_err(|e| format!("JWKS/RS256: {e}\n--- function output ---\n{}", jwks.logs))?;

    let secret = [("JWT_SECRET", LOCAL_SECRET), ("JWT_AUDIENCE", AUDIENCE)];
    let hs = ctx
        .invoke(case.function, &case.event(&fresh)?, &secret)
        .await?;
    expect_allowed(&hs, &fresh, &method_arn).map_err(|e| format!("JWT_SECRET/HS256: {e}"))?;

    let expired = fixture::hs256(&fresh.claims(fixture::LOCAL_ISSUER, -600));
    let event = fixture::instantiate(case.event, &fresh, &expired)?;
    let refused = ctx.invoke(case.function, &event, &secret).await?;
    match &refused.outcome {
        Outcome::Error { message, .. } if message == "Unauthorized" => {}
        other => {
            return Err(format!(
                "an expired token should be the error \"Unauthorized\", got {other:?}"
            ));
        }
    }
    Ok(format!(
        "JWKS (fetched at init) and HS256 tokens allowed, expired token Unauthorized; JWKS {}",
        timing(&jwks)
    ))
}

/// `$connect`: 200, and the connection is stored with the authorizer's `sub` as owner.
pub async fn connect(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    route_status(&inv, 200)?;
    let c = connection(ctx, &fresh)
        .await?
        .ok_or_else(|| format!("the connection was not stored\n{}", inv.logs))?;
    expect_eq("connection owner", &c["ownerId"], &json!(fresh.owner))?;
    let expires = c["expiresAt"].as_i64().unwrap_or_default();
    expect(expires == (fresh.now_ms - 1000) / 1000 + 7200, || {
        format!("expiresAt should be connectedAt + 2 h, got {c}")
    })?;
    Ok(format!(
        "200, connection stored for its owner; {}",
        timing(&inv)
    ))
}

/// `subscribe` to one of the caller's campaigns: 200, the subscription is stored, and the answer
/// `subscribed` (with the campaign's status) is posted to the connection.
pub async fn subscribe(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    store_campaign(ctx, &fresh, "NewImage").await?;
    store_connection(ctx, &fresh, &[]).await?;
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    route_status(&inv, 200)?;
    expect(
        inv.pushes.len() == 1 && inv.pushes[0].connection_id == fresh.connection,
        || {
            format!(
                "expected one answer to {}, got {:?}\n{}",
                fresh.connection, inv.pushes, inv.logs
            )
        },
    )?;
    let answer = inv.pushes[0].json();
    expect_eq("answer type", &answer["type"], &json!("subscribed"))
        .map_err(|e| format!("{e}: {answer}"))?;
    expect_eq(
        "answer campaignId",
        &answer["campaignId"],
        &json!(fresh.campaign),
    )?;
    expect(answer["status"].is_object(), || {
        format!("no status in {answer}")
    })?;
    let s = subscription(ctx, &fresh)
        .await?
        .ok_or("the subscription was not stored")?;
    expect_eq("subscription owner", &s["ownerId"], &json!(fresh.owner))?;
    expect(marker(ctx, &fresh).await?.is_some(), || {
        "no campaign-subscription marker in the owner's topic".into()
    })?;
    Ok(format!(
        "200, subscription and its owner's marker stored, `subscribed` posted back; {}",
        timing(&inv)
    ))
}

/// `$disconnect`: 200, and the connection and its subscriptions are deleted.
pub async fn disconnect(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    store_connection(ctx, &fresh, &[topic(&fresh)]).await?;
    store_subscription(ctx, &fresh).await?;
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    route_status(&inv, 200)?;
    expect(connection(ctx, &fresh).await?.is_none(), || {
        "the connection is still stored".into()
    })?;
    expect(subscription(ctx, &fresh).await?.is_none(), || {
        "the subscription is still stored".into()
    })?;
    expect(marker(ctx, &fresh).await?.is_none(), || {
        "the owner's campaign-subscription marker is still stored".into()
    })?;
    Ok(format!(
        "200, connection, subscription and marker deleted; {}",
        timing(&inv)
    ))
}

/// A stream MODIFY to "discovery running (auto)" with one subscriber: no batch failures, and
/// `phase_auto_started` is posted to the subscriber's connection.
pub async fn stream_publisher(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    store_connection(ctx, &fresh, &[topic(&fresh)]).await?;
    store_subscription(ctx, &fresh).await?;
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    no_batch_failures(&inv)?;
    let events: Vec<Value> = inv
        .pushes
        .iter()
        .filter(|p| p.connection_id == fresh.connection)
        .map(|p| p.json())
        .collect();
    let started = events
        .iter()
        .find(|e| e["type"] == "phase_auto_started")
        .ok_or_else(|| format!("no phase_auto_started among {events:?}\n{}", inv.logs))?;
    expect_eq(
        "event campaignId",
        &started["campaignId"],
        &json!(fresh.campaign),
    )?;
    expect_eq("event phase", &started["phase"], &json!("discovery"))?;
    expect_eq("event status", &started["status"], &json!("running"))?;
    expect_eq("event version", &started["version"], &json!(2))?;
    expect_eq(
        "event data",
        &started["data"],
        &json!({"latencyMs": 123, "attempts": 1}),
    )?;
    Ok(format!(
        "{} event(s) posted to the subscriber, phase_auto_started among them; {}",
        events.len(),
        timing(&inv)
    ))
}
