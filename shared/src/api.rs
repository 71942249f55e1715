//! The HTTP API over `lambda_http` types: one function, [`handle`], that the `api` Lambda and the
//! local gateway both call with the request API Gateway builds (claims in the request context).

use http::header::{CONTENT_TYPE, ETAG, HeaderName, HeaderValue, LOCATION};
use http::{HeaderMap, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::Instrument;
use uuid::Uuid;

use crate::adapters::dynamo::{IdempotencyRecord, IdempotencyRepo, Write};
use crate::config::AppState;
use crate::domain::resources::{OwnedResource, Persona, Proxy};
use crate::domain::{Campaign, Mode, PhaseName};
use crate::error::{AppError, ConflictCode, InvalidCode};
use crate::service::Caller;
use crate::service::campaigns::{self, ConfigInput, CreateCampaignInput};
use crate::service::resources::{self, PersonaInput, ProxyInput};

pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const CORRELATION_HEADER: &str = "x-correlation-id";
const IDEMPOTENCY_HEADER: &str = "idempotency-key";
const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;
/// How long a claimed key stays `IN_PROGRESS` if its request dies (a Lambda times out at 10 s).
const IDEMPOTENCY_LOCK_SECONDS: i64 = 30;

/// The correlation id of a request: the caller's `X-Correlation-Id` when it is a sane token
/// (1–128 chars of `[A-Za-z0-9._:-]`), otherwise a new UUID.
pub fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

/// The caller's `sub` from the JWT claims API Gateway's authorizer put in the request context.
pub fn caller_sub(req: &Request) -> Option<String> {
    let ctx = req.request_context_ref()?;
    let authorizer = match ctx {
        RequestContext::ApiGatewayV2(c) => c.authorizer.as_ref()?,
        _ => ctx.authorizer()?,
    };
    authorizer
        .jwt
        .as_ref()?
        .claims
        .get("sub")
        .filter(|s| !s.is_empty())
        .cloned()
}

/// Handles one HTTP API request. Never fails: every error becomes its status and error body.
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    let correlation = correlation_id(req.headers());
    let span = tracing::info_span!("request", correlationId = %correlation, method = %req.method(), path = %req.uri().path());
    async {
        let started = std::time::Instant::now();
        let mut response = match route(state, &req, &correlation).await {
            Ok(r) => r,
            Err(e) => {
                if e.status() >= 500 {
                    tracing::error!(error = %e, "request failed");
                }
                error_response(&e, &correlation)
            }
        };
        if let Ok(v) = HeaderValue::from_str(&correlation) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(CORRELATION_HEADER), v);
        }
        tracing::info!(
            status = response.status().as_u16(),
            latencyMs = started.elapsed().as_millis() as u64,
            "request"
        );
        response
    }
    .instrument(span)
    .await
}

pub fn error_response(err: &AppError, correlation: &str) -> Response<Body> {
    let mut response = json_response(err.status(), &err.body(correlation));
    if let AppError::MethodNotAllowed { allow, .. } = err {
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    if matches!(err, AppError::Throttled(_) | AppError::Unavailable(_)) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn with_etag(mut response: Response<Body>, etag: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, v);
    }
    response
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// Parses a JSON body: 413 over 64 KiB, 400 with the failing field for malformed JSON, wrong
/// types or unknown enum values.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request("a JSON body is required", None));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        AppError::bad_request(format!("invalid JSON body: {}", e.inner()), field)
    })?;
    de.end()
        .map_err(|e| AppError::bad_request(format!("invalid JSON body: {e}"), None))?;
    Ok(value)
}

fn body_bytes(req: &Request) -> &[u8] {
    req.body().as_ref()
}

fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_string)
}

fn limit_param(req: &Request, default: i32, max: i32) -> Result<i32, AppError> {
    match query(req, "limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                AppError::bad_request(
                    format!("limit must be an integer from 1 to {max}"),
                    Some("limit".into()),
                )
            }),
    }
}

/// `If-Match`: `"3"`, `W/"3"`, `3` or `*` (any). A value that cannot be a version never matches.
fn if_match(headers: &HeaderMap) -> Option<u64> {
    let raw = headers.get(http::header::IF_MATCH)?.to_str().ok()?.trim();
    if raw == "*" {
        return None;
    }
    let v = raw.trim_start_matches("W/").trim_matches('"');
    Some(v.parse().unwrap_or(u64::MAX))
}

fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
        })
}

fn path_id(segment: &str, what: &'static str) -> Result<Uuid, AppError> {
    Uuid::parse_str(segment).map_err(|_| AppError::NotFound(what))
}

fn method_not_allowed(allow: &'static str) -> AppError {
    AppError::MethodNotAllowed {
        message: format!("this route allows {allow}"),
        allow,
    }
}

fn campaign_response(status: u16, c: &Campaign) -> Response<Body> {
    with_etag(json_response(status, &c.to_api()), &c.etag())
}

fn page(items: Vec<Value>, next: Option<String>) -> Response<Body> {
    json_response(200, &json!({ "items": items, "nextCursor": next }))
}

async fn route(
    state: &AppState,
    req: &Request,
    correlation: &str,
) -> Result<Response<Body>, AppError> {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method().clone();
    if method == Method::OPTIONS {
        // CORS preflight (API Gateway answers it when CORS is configured; this is the fallback).
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    if segments == ["health"] {
        return match method {
            Method::GET => Ok(json_response(200, &json!({"status": "ok"}))),
            _ => Err(method_not_allowed("GET")),
        };
    }
    let known = matches!(
        segments.first(),
        Some(&"campaigns" | &"personas" | &"proxies")
    );
    if !known {
        return Err(AppError::NotFound("route"));
    }
    let caller = Caller {
        owner: caller_sub(req).ok_or(AppError::Unauthorized)?,
        correlation_id: correlation.to_string(),
    };
    if body_bytes(req).len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    match (segments.as_slice(), &method) {
        (["campaigns"], &Method::POST) => create_campaign(state, req, &caller).await,
        (["campaigns"], &Method::GET) => {
            let limit = limit_param(req, 20, 100)?;
            let (items, next) =
                campaigns::list(state, &caller, limit, query(req, "cursor").as_deref()).await?;
            Ok(page(items.iter().map(Campaign::to_api).collect(), next))
        }
        (["campaigns"], _) => Err(method_not_allowed("GET, POST")),
        (["campaigns", id], m) => {
            let id = path_id(id, "campaign")?;
            match *m {
                Method::GET => {
                    let c = campaigns::get(state, &caller, id).await?;
                    if none_match(req.headers(), &c.etag()) {
                        return Ok(with_etag(empty(StatusCode::NOT_MODIFIED), &c.etag()));
                    }
                    Ok(campaign_response(200, &c))
                }
                Method::DELETE => {
                    campaigns::delete(state, &caller, id).await?;
                    Ok(empty(StatusCode::NO_CONTENT))
                }
                _ => Err(method_not_allowed("GET, DELETE")),
            }
        }
        (["campaigns", id, "config"], &Method::PUT) => {
            let id = path_id(id, "campaign")?;
            let input: ConfigInput = parse_json(body_bytes(req))?;
            let c = campaigns::replace_config(state, &caller, id, input, if_match(req.headers()))
                .await?;
            Ok(campaign_response(200, &c))
        }
        (["campaigns", id, "mode"], &Method::PUT) => {
            #[derive(Deserialize)]
            struct ModeBody {
                mode: Mode,
            }
            let id = path_id(id, "campaign")?;
            let body: ModeBody = parse_json(body_bytes(req))?;
            let c = campaigns::change_mode(state, &caller, id, body.mode, if_match(req.headers()))
                .await?;
            Ok(campaign_response(200, &c))
        }
        (["campaigns", id, "status"], &Method::GET) => {
            let id = path_id(id, "campaign")?;
            let c = campaigns::get(state, &caller, id).await?;
            if none_match(req.headers(), &c.etag()) {
                return Ok(with_etag(empty(StatusCode::NOT_MODIFIED), &c.etag()));
            }
            Ok(with_etag(json_response(200, &c.status_view()), &c.etag()))
        }
        (["campaigns", id, "domains"], &Method::GET) => {
            let id = path_id(id, "campaign")?;
            let limit = limit_param(req, 100, 1000)? as u64;
            let cursor = query(req, "cursor")
                .map(|c| {
                    c.parse::<u64>().map_err(|_| {
                        AppError::bad_request("the cursor is not valid", Some("cursor".into()))
                    })
                })
                .transpose()?;
            let status = query(req, "status");
            let filter = match status.as_deref() {
                None => campaigns::DomainFilter::All,
                Some(s) => campaigns::DomainFilter::parse(s).ok_or_else(|| {
                    AppError::bad_request(
                        "status must be one of resolved, unresolved, error, pending",
                        Some("status".into()),
                    )
                })?,
            };
            // Plain strings, as API.md lists them, unless the caller asks for the status.
            let with_status =
                status.is_some() || query(req, "include").as_deref() == Some("status");
            let (items, next) =
                campaigns::list_domains(state, &caller, id, limit, cursor, filter).await?;
            let items: Vec<Value> = items
                .into_iter()
                .map(|e| {
                    if !with_status {
                        return Value::String(e.domain);
                    }
                    match e.check {
                        None => json!({"domain": e.domain, "status": "pending"}),
                        Some(c) => json!({
                            "domain": e.domain,
                            "status": c.status.as_str(),
                            "addresses": c.addresses,
                            "error": c.error,
                        }),
                    }
                })
                .collect();
            Ok(json_response(
                200,
                &json!({ "items": items, "nextCursor": next.map(|n| n.to_string()) }),
            ))
        }
        (["campaigns", id, "phases", phase, "start"], &Method::POST) => {
            let id = path_id(id, "campaign")?;
            let phase = PhaseName::parse(phase).ok_or(AppError::NotFound("phase"))?;
            let c = campaigns::start_phase(state, &caller, id, phase).await?;
            Ok(campaign_response(202, &c))
        }
        (["campaigns", _, "config" | "mode"], _) => Err(method_not_allowed("PUT")),
        (["campaigns", _, "status" | "domains"], _) => Err(method_not_allowed("GET")),
        (["campaigns", _, "phases", _, "start"], _) => Err(method_not_allowed("POST")),
        (["personas"], &Method::POST) => {
            let input: PersonaInput = parse_json(body_bytes(req))?;
            let p = resources::create_persona(state, &caller, input).await?;
            Ok(json_response(201, &p.to_api()))
        }
        (["proxies"], &Method::POST) => {
            let input: ProxyInput = parse_json(body_bytes(req))?;
            let p = resources::create_proxy(state, &caller, input).await?;
            Ok(json_response(201, &p.to_api()))
        }
        (["personas"], &Method::GET) => list_resources::<Persona>(state, req, &caller).await,
        (["proxies"], &Method::GET) => list_resources::<Proxy>(state, req, &caller).await,
        (["personas" | "proxies"], _) => Err(method_not_allowed("GET, POST")),
        (["personas", id], m) => {
            let id = path_id(id, "persona")?;
            match *m {
                Method::GET => Ok(json_response(
                    200,
                    &resources::get::<Persona>(state, &caller, id)
                        .await?
                        .to_api(),
                )),
                Method::PATCH => {
                    let input: PersonaInput = parse_json(body_bytes(req))?;
                    Ok(json_response(
                        200,
                        &resources::patch_persona(state, &caller, id, input)
                            .await?
                            .to_api(),
                    ))
                }
                Method::DELETE => {
                    resources::delete::<Persona>(state, &caller, id).await?;
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
                    &resources::get::<Proxy>(state, &caller, id).await?.to_api(),
                )),
                Method::PATCH => {
                    let input: ProxyInput = parse_json(body_bytes(req))?;
                    Ok(json_response(
                        200,
                        &resources::patch_proxy(state, &caller, id, input)
                            .await?
                            .to_api(),
                    ))
                }
                Method::DELETE => {
                    resources::delete::<Proxy>(state, &caller, id).await?;
                    Ok(empty(StatusCode::NO_CONTENT))
                }
                _ => Err(method_not_allowed("GET, PATCH, DELETE")),
            }
        }
        _ => Err(AppError::NotFound("route")),
    }
}

async fn list_resources<T: resources::ResourceKind>(
    state: &AppState,
    req: &Request,
    caller: &Caller,
) -> Result<Response<Body>, AppError> {
    let limit = limit_param(req, 20, 100)?;
    let (items, next) =
        resources::list::<T>(state, caller, limit, query(req, "cursor").as_deref()).await?;
    Ok(page(
        items.iter().map(OwnedResource::to_api).collect(),
        next,
    ))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(raw) = headers.get(IDEMPOTENCY_HEADER) else {
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

fn created(c: &Campaign) -> Response<Body> {
    let mut r = campaign_response(201, c);
    if let Ok(v) = HeaderValue::from_str(&format!("/campaigns/{}", c.id)) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// `POST /campaigns` with the optional `Idempotency-Key`: same key and body within 24 h → the
/// stored 201 again; same key, other body → 422; first request still running → 409.
async fn create_campaign(
    state: &AppState,
    req: &Request,
    caller: &Caller,
) -> Result<Response<Body>, AppError> {
    let body = body_bytes(req);
    let input: CreateCampaignInput = parse_json(body)?;
    let Some(key) = idempotency_key(req.headers())? else {
        return Ok(created(&campaigns::create(state, caller, input).await?));
    };
    let repo = IdempotencyRepo::new(&state.ddb, &state.settings.idempotency_table);
    let pk = format!("{}#{key}", caller.owner);
    let hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for _ in 0..3 {
        let now = chrono::Utc::now().timestamp();
        if repo
            .claim(
                &pk,
                &hash,
                now,
                IDEMPOTENCY_LOCK_SECONDS,
                IDEMPOTENCY_TTL_SECONDS,
            )
            .await?
            == Write::Done
        {
            return match campaigns::create(state, caller, input).await {
                Ok(c) => {
                    let response = created(&c);
                    let headers: Vec<(String, String)> = [LOCATION, ETAG]
                        .iter()
                        .filter_map(|h| {
                            Some((
                                h.to_string(),
                                response.headers().get(h)?.to_str().ok()?.to_string(),
                            ))
                        })
                        .collect();
                    let text = c.to_api().to_string();
                    if let Err(e) = repo.complete(&pk, 201, &text, &headers).await {
                        tracing::error!(error = %e, "could not store the idempotent response");
                    }
                    Ok(response)
                }
                Err(e) => {
                    if let Err(release) = repo.release(&pk).await {
                        tracing::error!(error = %release, "could not release the idempotency key");
                    }
                    Err(e)
                }
            };
        }
        match repo.get(&pk).await? {
            None => continue,
            Some(
                IdempotencyRecord::InProgress { hash: h }
                | IdempotencyRecord::Completed { hash: h, .. },
            ) if h != hash => {
                return Err(AppError::Invalid {
                    code: InvalidCode::IdempotencyKeyReused,
                    message: "this Idempotency-Key was used with a different request body".into(),
                    details: vec![crate::error::FieldProblem::new(
                        "Idempotency-Key",
                        "reused with a different body",
                    )],
                });
            }
            Some(IdempotencyRecord::InProgress { .. }) => {
                return Err(AppError::conflict(
                    ConflictCode::IdempotencyInProgress,
                    "a request with this Idempotency-Key is still being processed",
                ));
            }
            Some(IdempotencyRecord::Completed {
                status,
                body,
                headers,
                ..
            }) => {
                let value: Value = serde_json::from_str(&body).map_err(AppError::internal)?;
                let mut response = json_response(status, &value);
                for (name, v) in headers {
                    if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&v))
                    {
                        response.headers_mut().insert(n, v);
                    }
                }
                response.headers_mut().insert(
                    HeaderName::from_static("idempotent-replayed"),
                    HeaderValue::from_static("true"),
                );
                return Ok(response);
            }
        }
    }
    Err(AppError::Unavailable(
        "idempotency record kept changing".into(),
    ))
}
