//! Routes of `/personas` and `/proxies`.

use ::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::http::{
    body_bytes, empty, json_response, limit_param, method_not_allowed, parse_json, path_id, query,
};
use crate::domain::resources::{OwnedResource, Persona, Proxy};
use crate::error::AppError;
use crate::service::Caller;
use crate::service::resources::{self, PersonaInput, ProxyInput, ResourceKind};
use crate::state::AppState;

pub async fn route(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    segments: &[&str],
    method: &Method,
) -> Result<Response<Body>, AppError> {
    match (segments, method) {
        (["personas"], &Method::POST) => {
            let input: PersonaInput = parse_json(body_bytes(req))?;
            let p = resources::create_persona(state, caller, input).await?;
            Ok(json_response(201, &p.view()))
        }
        (["proxies"], &Method::POST) => {
            let input: ProxyInput = parse_json(body_bytes(req))?;
            let p = resources::create_proxy(state, caller, input).await?;
            Ok(json_response(201, &p.view()))
        }
        (["personas"], &Method::GET) => list::<Persona>(state, req, caller).await,
        (["proxies"], &Method::GET) => list::<Proxy>(state, req, caller).await,
        (["personas" | "proxies"], _) => Err(method_not_allowed("GET, POST")),
        (["personas", id], m) => {
            let id = path_id(id, "persona")?;
            match *m {
                Method::GET => Ok(json_response(
                    200,
                    &resources::get::<Persona>(state, caller, id).await?.view(),
                )),
                Method::PATCH => {
                    let input: PersonaInput = parse_json(body_bytes(req))?;
                    let p = resources::patch_persona(state, caller, id, input).await?;
                    Ok(json_response(200, &p.view()))
                }
                Method::DELETE => {
                    resources::delete::<Persona>(state, caller, id).await?;
                    Ok(empty(StatusCode::NO_CONTENT))
                }
                _ => Err(method_not_allowed("GET, PATCH, DELETE")),
            }
        }
        (["proxies", id], m) => {
            let id = path_id(id, "proxy")?;
            match *m {
                Method::GET => Ok(json_response(
                    200,
                    &resources::get::<Proxy>(state, caller, id).await?.view(),
                )),
                Method::PATCH => {
                    let input: ProxyInput = parse_json(body_bytes(req))?;
                    let p = resources::patch_proxy(state, caller, id, input).await?;
                    Ok(json_response(200, &p.view()))
                }
                Method::DELETE => {
                    resources::delete::<Proxy>(state, caller, id).await?;
                    Ok(empty(StatusCode::NO_CONTENT))
                }
                _ => Err(method_not_allowed("GET, PATCH, DELETE")),
            }
        }
        _ => Err(AppError::NotFound("route")),
    }
}

async fn list<T: ResourceKind>(
    state: &AppState,
    req: &Request,
    caller: &Caller,
) -> Result<Response<Body>, AppError> {
    let limit = limit_param(req, 20, 100)?;
    let (items, next) =
        resources::list::<T>(state, caller, limit, query(req, "cursor").as_deref()).await?;
    let items: Vec<_> = items.iter().map(OwnedResource::view).collect();
    Ok(json_response(
        200,
        &json!({ "items": items, "nextCursor": next }),
    ))
}
