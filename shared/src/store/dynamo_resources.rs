//! Personas and proxies on DynamoDB: one table each, keyed `(ownerId, id)`; replacements are
//! conditional on the `version` read (no lost updates between two PATCHes).

use std::marker::PhantomData;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue as Av;
use uuid::Uuid;

use super::aws::Aws;
use super::cursor;
use super::dynamo_campaigns::{conditional, read_item, to_item};
use super::{Page, ResourceStore, StoreFuture, Write};
use crate::domain::resources::OwnedResource;
use crate::error::classify_sdk_error;

pub struct DynamoResources<T> {
    pub aws: Arc<Aws>,
    pub table: String,
    pub kind: PhantomData<fn() -> T>,
}

impl<T> DynamoResources<T> {
    pub fn new(aws: Arc<Aws>, table: String) -> Self {
        Self {
            aws,
            table,
            kind: PhantomData,
        }
    }
}

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

impl<T: OwnedResource> ResourceStore<T> for DynamoResources<T> {
    fn get<'a>(&'a self, owner: &'a str, id: Uuid) -> StoreFuture<'a, Option<T>> {
        Box::pin(async move {
            let out = self
                .aws
                .ddb()
                .get_item()
                .table_name(&self.table)
                .key("ownerId", s(owner))
                .key("id", s(id.to_string()))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            out.item
                .map(|item| read_item(&self.table, &id.to_string(), item))
                .transpose()
        })
    }

    fn put<'a>(&'a self, resource: &'a T, expected_version: Option<u64>) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            let req = self
                .aws
                .ddb()
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(resource)?));
            let req = match expected_version {
                None => req.condition_expression("attribute_not_exists(id)"),
                Some(v) => req
                    .condition_expression("#v = :expected")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":expected", Av::N(v.to_string())),
            };
            conditional(req.send().await)
        })
    }

    fn delete<'a>(&'a self, owner: &'a str, id: Uuid) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            let res = self
                .aws
                .ddb()
                .delete_item()
                .table_name(&self.table)
                .key("ownerId", s(owner))
                .key("id", s(id.to_string()))
                .condition_expression("attribute_exists(id)")
                .send()
                .await;
            conditional(res)
        })
    }

    fn list<'a>(
        &'a self,
        owner: &'a str,
        limit: i32,
        cursor: Option<&'a str>,
    ) -> StoreFuture<'a, Page<T>> {
        Box::pin(async move {
            let start = cursor
                .map(|c| cursor::decode(c, "ownerId", owner, &["ownerId", "id"]))
                .transpose()?;
            let out = self
                .aws
                .ddb()
                .query()
                .table_name(&self.table)
                .key_condition_expression("ownerId = :o")
                .expression_attribute_values(":o", s(owner))
                .limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            let items = out
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|item| {
                    let key = match item.get("id") {
                        Some(Av::S(id)) => id.clone(),
                        _ => "?".into(),
                    };
                    read_item(&self.table, &key, item)
                })
                .collect::<Result<Vec<T>, _>>()?;
            let next = out
                .last_evaluated_key
                .filter(|_| items.len() as i32 == limit)
                .map(|k| cursor::encode(&k));
            Ok((items, next))
        })
    }
}
