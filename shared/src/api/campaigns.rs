//! Routes under `/campaigns`.

use ::http::header::{ETAG, HeaderName, LOCATION};
use ::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::{
    body_bytes, cursor_param, empty, if_match, json_response, limit_param, method_not_allowed,
    none_match, parse_json, path_id, query, set_header, with_etag,
};
use crate::domain::{Campaign, Mode, PhaseName, Readiness};
use crate::error::AppError;
use crate::service::config_input::CreateCampaignInput;
use crate::service::control::{self, Action};
use crate::service::create::{self, Created, body_hash};
use crate::service::{Caller, campaigns, domains};
use crate::state::AppState;
use crate::store::StoredResponse;

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

fn campaign_response(status: u16, c: &Campaign, readiness: Option<&[Readiness]>) -> Response<Body> {
    with_etag(json_response(status, &c.view(readiness)), &c.etag())
}

/// `segments`: the path after `/campaigns`.
pub async fn route(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    segments: &[&str],
    method: &Method,
) -> Result<Response<Body>, AppError> {
    match (segments, method) {
        ([], &Method::POST) => create_campaign(state, req, caller).await,
        ([], &Method::GET) => {
            let limit = limit_param(req, 20, 100)?;
            let (items, next) =
                campaigns::list(state, caller, limit, query(req, "cursor").as_deref()).await?;
            let items: Vec<_> = items.iter().map(|c| c.view(None)).collect();
            Ok(json_response(
                200,
                &json!({ "items": items, "nextCursor": next }),
            ))
        }
        ([], _) => Err(method_not_allowed("GET, POST")),
        ([id], m) => {
            let id = path_id(id, "campaign")?;
            match *m {
                Method::GET => {
                    let (c, ready) = campaigns::get(state, caller, id).await?;
                    if none_match(req.headers(), &c.etag()) {
                        return Ok(with_etag(empty(StatusCode::NOT_MODIFIED), &c.etag()));
                    }
                    Ok(campaign_response(200, &c, Some(&ready)))
                }
                Method::DELETE => {
                    campaigns::delete(state, caller, id).await?;
                    Ok(empty(StatusCode::NO_CONTENT))
                }
                _ => Err(method_not_allowed("GET, DELETE")),
            }
        }
        ([id, "config"], &Method::PUT) => {
            let id = path_id(id, "campaign")?;
            let input: Map<String, Value> = parse_json(body_bytes(req))?;
            let c = campaigns::replace_config(state, caller, id, &input, if_match(req.headers()))
                .await?;
            Ok(campaign_response(200, &c, None))
        }
        ([id, "mode"], &Method::PUT) => {
            #[derive(Deserialize)]
            struct ModeBody {
                mode: Mode,
            }
            let id = path_id(id, "campaign")?;
            let body: ModeBody = parse_json(body_bytes(req))?;
            let c = campaigns::change_mode(state, caller, id, body.mode, if_match(req.headers()))
                .await?;
            Ok(campaign_response(200, &c, None))
        }
        ([id, "status"], &Method::GET) => {
            let id = path_id(id, "campaign")?;
            let (c, ready) = campaigns::get(state, caller, id).await?;
            if none_match(req.headers(), &c.etag()) {
                return Ok(with_etag(empty(StatusCode::NOT_MODIFIED), &c.etag()));
            }
            Ok(with_etag(
                json_response(200, &c.status_view(Some(&ready))),
                &c.etag(),
            ))
        }
        ([id, "domains"], &Method::GET) => {
            let id = path_id(id, "campaign")?;
            let limit = limit_param(req, 100, 1000)? as u64;
            let status = query(req, "status");
            let include = query(req, "include");
            if include.as_deref().is_some_and(|i| i != "results") {
                return Err(AppError::bad_request(
                    "include must be \"results\"",
                    Some("include".into()),
                ));
            }
            let (items, next) = domains::list(
                state,
                caller,
                id,
                limit,
                cursor_param(req)?,
                status.as_deref(),
                include.is_some(),
            )
            .await?;
            Ok(json_response(
                200,
                &json!({ "items": items, "nextCursor": next.map(|n| n.to_string()) }),
            ))
        }
        ([id, "phases", phase, action], &Method::POST) => {
            let id = path_id(id, "campaign")?;
            let phase = PhaseName::parse(phase).ok_or(AppError::NotFound("phase"))?;
            let c = match *action {
                "start" => control::start(state, caller, id, phase).await?,
                "pause" => control::control(state, caller, id, phase, Action::Pause).await?,
                "resume" => control::control(state, caller, id, phase, Action::Resume).await?,
                "stop" => control::control(state, caller, id, phase, Action::Stop).await?,
                _ => return Err(AppError::NotFound("route")),
            };
            Ok(campaign_response(202, &c, None))
        }
        ([_, "config" | "mode"], _) => Err(method_not_allowed("PUT")),
        ([_, "status" | "domains"], _) => Err(method_not_allowed("GET")),
        ([_, "phases", _, "start" | "pause" | "resume" | "stop"], _) => {
            Err(method_not_allowed("POST"))
        }
        _ => Err(AppError::NotFound("route")),
    }
}

fn idempotency_key(req: &Request) -> Result<Option<String>, AppError> {
    let Some(raw) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255);
    match key {
        Some(k) => Ok(Some(k.to_string())),
        None => Err(AppError::bad_request(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            Some("Idempotency-Key".into()),
        )),
    }
}

/// The 201 of a create, as sent and as stored for idempotent replays.
fn render(c: &Campaign, ready: &[Readiness]) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: serde_json::to_string(&c.view(Some(ready))).expect("a campaign view serializes"),
        headers: vec![
            (LOCATION.to_string(), format!("/campaigns/{}", c.id)),
            (ETAG.to_string(), c.etag()),
        ],
    }
}

fn stored(response: &StoredResponse, replayed: bool) -> Response<Body> {
    let mut r = Response::new(Body::Text(response.body.clone()));
    *r.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::CREATED);
    set_header(&mut r, ::http::header::CONTENT_TYPE, "application/json");
    for (name, value) in &response.headers {
        if let Ok(n) = HeaderName::try_from(name.as_str()) {
            set_header(&mut r, n, value);
        }
    }
    if replayed {
        set_header(
            &mut r,
            HeaderName::from_static("idempotent-replayed"),
            "true",
        );
    }
    r
}

/// `POST /campaigns` with the optional `Idempotency-Key` (same key and body within 24 h → the
/// stored 201 again; same key, other body → 422; first request still running → 409).
async fn create_campaign(
    state: &AppState,
    req: &Request,
    caller: &Caller,
) -> Result<Response<Body>, AppError> {
    let body = body_bytes(req);
    let input: CreateCampaignInput = parse_json(body)?;
    let key = idempotency_key(req)?;
    let hash = body_hash(body);
    let key_and_hash = key.as_deref().map(|k| (k, hash.as_str()));
    match create::create(state, caller, input, key_and_hash, render).await? {
        Created::New(c, ready) => Ok(stored(&render(&c, &ready), false)),
        Created::Replayed(response) => Ok(stored(&response, true)),
    }
}
