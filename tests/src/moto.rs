//! Direct reads of what the handlers stored: moto's DynamoDB and Streams JSON APIs, the
//! connection and subscription tables.

use serde_json::{Value, json};

/// Calls moto's DynamoDB JSON API directly (tests check what the handlers stored).
pub async fn dynamodb(operation: &str, body: &Value) -> Value {
    moto_json("DynamoDB_20120810", operation, body).await
}

/// Calls moto's DynamoDB Streams JSON API directly.
pub async fn dynamodb_streams(operation: &str, body: &Value) -> Value {
    moto_json("DynamoDBStreams_20120810", operation, body).await
}

/// One JSON-protocol call to moto (`X-Amz-Target: <service>.<operation>`), as the SDK sends it.
async fn moto_json(service: &str, operation: &str, body: &Value) -> Value {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let res = reqwest::Client::new()
        .post(endpoint)
        .header("x-amz-target", format!("{service}.{operation}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{service}.{operation} request to moto: {e}"));
    let text = res.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{service}.{operation}: {text}"))
}

/// The connection ids subscribed to a topic (`campaign#<id>` or `owner#<sub>`).
pub async fn subscribed_connections(topic: &str) -> Vec<String> {
    let table = std::env::var("SUBSCRIPTIONS_TABLE")
        .unwrap_or_else(|_| "campaign-autostart-subscriptions".into());
    let out = dynamodb(
        "Query",
        &json!({
            "TableName": table,
            "KeyConditionExpression": "topic = :t",
            "ExpressionAttributeValues": {":t": {"S": topic}},
            "ConsistentRead": true
        }),
    )
    .await;
    let mut ids: Vec<String> = out["Items"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|i| i["connectionId"]["S"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// Whether the connections table has an item for `connection_id`.
pub async fn connection_stored(connection_id: &str) -> bool {
    let table = std::env::var("CONNECTIONS_TABLE")
        .unwrap_or_else(|_| "campaign-autostart-connections".into());
    let out = dynamodb(
        "GetItem",
        &json!({"TableName": table, "Key": {"connectionId": {"S": connection_id}}, "ConsistentRead": true}),
    )
    .await;
    out.get("Item").is_some_and(|i| !i.is_null())
}
