//! `paths`: every route of `api::{mod, campaigns, resources}` with its parameters, body,
//! answers, examples and the `links` schemathesis' stateful phase follows (create → read, change,
//! start, pause, resume, stop, delete). The phase routes and their links follow `PIPELINE`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::errors::response_ref;
use super::phases::doc;
use super::schemas::Refs;
use crate::domain::PIPELINE;

/// One operation. `answers` lists the statuses besides the success (a `components.responses`
/// entry each).
#[derive(Default)]
struct Op<'a> {
    id: &'a str,
    tag: &'a str,
    summary: &'a str,
    description: &'a str,
    params: &'a [&'a str],
    /// The JSON body's schema and a valid example.
    body: Option<(Value, Value)>,
    /// The success: status, description, body schema and headers besides X-Correlation-Id.
    ok: Option<(u16, &'a str, Value, &'a [&'a str])>,
    links: Vec<(String, &'a str, Value)>,
    answers: &'a [u16],
    public: bool,
}

type Responses = BTreeMap<u16, (String, Value)>;

fn reference(kind: &str, name: &str) -> Value {
    json!({"$ref": format!("#/components/{kind}/{name}")})
}

impl Op<'_> {
    fn render(self, errors: &Responses) -> Value {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(self.id));
        op.insert("summary".into(), json!(self.summary));
        if !self.description.is_empty() {
            op.insert("description".into(), json!(self.description));
        }
        op.insert("tags".into(), json!([self.tag]));
        if self.public {
            op.insert("security".into(), json!([]));
        }
        let params: Vec<Value> = self
            .params
            .iter()
            .chain(&["XCorrelationId"])
            .map(|p| reference("parameters", p))
            .collect();
        op.insert("parameters".into(), json!(params));
        if let Some((schema, example)) = self.body {
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": schema, "example": example}}}),
            );
        }
        let mut responses = Map::new();
        if let Some((status, description, schema, headers)) = self.ok {
            let mut h = Map::new();
            for name in headers.iter().chain(&["X-Correlation-Id"]) {
                h.insert(
                    name.to_string(),
                    reference("headers", &name.replace('-', "")),
                );
            }
            let mut ok = json!({
                "description": format!("{status}: {description}"),
                "headers": h,
                "content": {"application/json": {"schema": schema}}
            });
            if !self.links.is_empty() {
                let links: Map<String, Value> = self
                    .links
                    .into_iter()
                    .map(|(name, op, params)| {
                        (name, json!({"operationId": op, "parameters": params}))
                    })
                    .collect();
                ok["links"] = Value::Object(links);
            }
            responses.insert(status.to_string(), ok);
        }
        for status in self.answers {
            let answer = match status {
                204 => reference("responses", "NoContent"),
                304 => reference("responses", "NotModified"),
                _ => response_ref(errors, *status),
            };
            responses.insert(status.to_string(), answer);
        }
        op.insert("responses".into(), Value::Object(responses));
        Value::Object(op)
    }
}

/// A link passing the campaign id of the answer (and `extra` parameters).
fn link(name: impl Into<String>, op: &str, extra: Value) -> (String, &str, Value) {
    let mut params = json!({"id": "$response.body#/id"});
    if let Value::Object(extra) = extra {
        params.as_object_mut().unwrap().extend(extra);
    }
    (name.into(), op, params)
}

/// `discovery` → `Discovery`, for link names.
fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

const READ: &[u16] = &[401, 404, 429, 503];
const CAMPAIGNS: &str = "campaigns";

pub fn paths(r: &Refs, errors: &Responses) -> Value {
    let first = PIPELINE[0].as_str();
    let mut example_config = Map::new();
    for name in PIPELINE {
        if let Some(section) = doc(*name).section {
            example_config.insert(name.to_string(), (section.example)());
        }
    }
    let create_example =
        json!({"name": "Shoes Q4", "mode": "step_by_step", "config": example_config});
    let campaign_ok =
        |status, description| Some((status, description, r.campaign.clone(), &["ETag"][..]));
    let same_phase = || json!({"phase": "$request.path.phase"});
    let control = |id, summary, description, links| Op {
        id,
        tag: CAMPAIGNS,
        summary,
        description,
        ok: campaign_ok(202, "the campaign"),
        links,
        answers: &[401, 404, 409, 429, 503],
        ..Op::default()
    };
    let later_starts: Vec<_> = PIPELINE[1..]
        .iter()
        .map(|p| {
            link(
                format!("Start{}", title(p.as_str())),
                "startPhase",
                json!({"phase": p.as_str()}),
            )
        })
        .collect();
    let mut start_links = vec![
        link("GetCampaignStatus", "getCampaignStatus", json!({})),
        link("ListDomains", "listDomains", json!({})),
        link("PausePhase", "pausePhase", same_phase()),
        link("StopPhase", "stopPhase", same_phase()),
    ];
    start_links.extend(later_starts);

    let e = errors;
    json!({
        "/health": {"get": Op {
            id: "health", tag: "health", summary: "Liveness", public: true,
            ok: Some((200, "the API answers", r.health.clone(), &[])),
            ..Op::default()
        }.render(e)},
        "/campaigns": {
            "post": Op {
                id: "createCampaign", tag: CAMPAIGNS, summary: "Create a campaign",
                description: "With `mode: full_sequence` the auto-start of the first phase is queued in the same request (`autoStart.status: queued`).",
                params: &["IdempotencyKey"],
                body: Some((r.create_campaign.clone(), create_example)),
                ok: Some((201, "created (or the stored answer of an Idempotency-Key replay)", r.campaign.clone(), &["ETag", "Location", "Idempotent-Replayed"])),
                links: vec![
                    link("GetCampaign", "getCampaign", json!({})),
                    link("GetCampaignStatus", "getCampaignStatus", json!({})),
                    link("ListDomains", "listDomains", json!({})),
                    link("ReplaceConfig", "replaceCampaignConfig", json!({})),
                    link("ChangeMode", "changeCampaignMode", json!({})),
                    link(format!("Start{}", title(first)), "startPhase", json!({"phase": first})),
                    link("DeleteCampaign", "deleteCampaign", json!({})),
                ],
                answers: &[400, 401, 409, 413, 422, 429, 503],
                ..Op::default()
            }.render(e),
            "get": Op {
                id: "listCampaigns", tag: CAMPAIGNS, summary: "The caller's campaigns, newest first",
                params: &["Limit100", "Cursor"],
                ok: Some((200, "one page", r.campaign_page.clone(), &[])),
                answers: &[400, 401, 429, 503],
                ..Op::default()
            }.render(e)
        },
        "/campaigns/{id}": {
            "parameters": [reference("parameters", "CampaignId")],
            "get": Op {
                id: "getCampaign", tag: CAMPAIGNS, summary: "One campaign, with every phase's readiness",
                params: &["IfNoneMatch"],
                ok: campaign_ok(200, "the campaign"),
                answers: &[304, 401, 404, 429, 503],
                ..Op::default()
            }.render(e),
            "delete": Op {
                id: "deleteCampaign", tag: CAMPAIGNS, summary: "Delete a campaign and its domains",
                description: "409 `RESOURCE_IN_USE` while a phase runs or is paused (stop it first).",
                answers: &[204, 401, 404, 409, 429, 503],
                ..Op::default()
            }.render(e)
        },
        "/campaigns/{id}/config": {
            "parameters": [reference("parameters", "CampaignId")],
            "put": Op {
                id: "replaceCampaignConfig", tag: CAMPAIGNS, summary: "Replace parts of the configuration",
                description: "Nothing changes while a phase is running or paused (409 `PHASE_ALREADY_RUNNING`); a phase's own section cannot change once that phase completed (409 `PHASE_ALREADY_COMPLETED`); personas and proxies can change between phases.",
                params: &["IfMatch"],
                body: Some((r.config_input.clone(), json!({"personaIds": [], "proxyIds": []}))),
                ok: campaign_ok(200, "the updated campaign"),
                answers: &[400, 401, 404, 409, 412, 413, 422, 429, 503],
                ..Op::default()
            }.render(e)
        },
        "/campaigns/{id}/mode": {
            "parameters": [reference("parameters", "CampaignId")],
            "put": Op {
                id: "changeCampaignMode", tag: CAMPAIGNS, summary: "Switch between step-by-step and Full Auto",
                description: "To `full_sequence` when the next phase can start: its `autoStart` becomes `queued` and an auto-start message is sent. Back to `step_by_step` while `queued`: `cancelled`. The same mode again: 200, no change.",
                params: &["IfMatch"],
                body: Some((r.mode_request.clone(), json!({"mode": "full_sequence"}))),
                ok: campaign_ok(200, "the campaign"),
                links: vec![link("GetCampaignStatus", "getCampaignStatus", json!({}))],
                answers: &[400, 401, 404, 412, 413, 429, 503],
                ..Op::default()
            }.render(e)
        },
        "/campaigns/{id}/phases/{phase}/start": phase_path(Op {
            id: "startPhase", tag: CAMPAIGNS, summary: "Start a phase by hand",
            description: "The state checks first: running or paused → 409 `PHASE_ALREADY_RUNNING` (a client treats it as success), completed → 409 `PHASE_ALREADY_COMPLETED`, an earlier phase not completed → 409 `PHASE_ORDER`; then the pre-start validation: 422 `INVALID_CONFIG` with every problem field. On a `failed` or `stopped` phase it starts again from its first chunk (that phase's earlier output and every later phase are reset). No request body.",
            ok: campaign_ok(202, "the phase is running"),
            links: start_links,
            answers: &[401, 404, 409, 422, 429, 503],
            ..Op::default()
        }.render(e)),
        "/campaigns/{id}/phases/{phase}/pause": phase_path(control(
            "pausePhase", "Pause a running phase",
            "`running` → `paused`: no new chunk starts; a chunk already in flight finishes and counts. Otherwise 409 `PHASE_NOT_RUNNING`. No request body.",
            vec![link("ResumePhase", "resumePhase", same_phase()), link("StopPhase", "stopPhase", same_phase())],
        ).render(e)),
        "/campaigns/{id}/phases/{phase}/resume": phase_path(control(
            "resumePhase", "Resume a paused phase",
            "`paused` → `running`, continuing with the next chunk (nothing redone, nothing skipped). Otherwise 409 `PHASE_NOT_PAUSED`. No request body.",
            vec![link("PausePhase", "pausePhase", same_phase()), link("StopPhase", "stopPhase", same_phase())],
        ).render(e)),
        "/campaigns/{id}/phases/{phase}/stop": phase_path(control(
            "stopPhase", "Stop a running or paused phase",
            "`running`/`paused` → `stopped`: the output so far is kept, no auto-advance; a queued auto-start of that phase is cancelled. Otherwise 409 `PHASE_NOT_RUNNING`. No request body.",
            vec![link("StartAgain", "startPhase", same_phase()), link("GetCampaignStatus", "getCampaignStatus", json!({}))],
        ).render(e)),
        "/campaigns/{id}/status": {
            "parameters": [reference("parameters", "CampaignId")],
            "get": Op {
                id: "getCampaignStatus", tag: CAMPAIGNS, summary: "Status polling fallback",
                params: &["IfNoneMatch"],
                ok: Some((200, "the status", r.status.clone(), &["ETag"])),
                answers: &[304, 401, 404, 429, 503],
                ..Op::default()
            }.render(e)
        },
        "/campaigns/{id}/domains": {
            "parameters": [reference("parameters", "CampaignId")],
            "get": Op {
                id: "listDomains", tag: CAMPAIGNS, summary: "Discovery's domains, with every later phase's results on request",
                params: &["DomainLimit", "DomainCursor", "DomainStatus", "Include"],
                ok: Some((200, "one page", r.domain_page.clone(), &[])),
                answers: &[400, 401, 404, 429, 503],
                ..Op::default()
            }.render(e)
        },
        "/personas": resources("persona", "personas", "Persona", r.persona_page.clone(), (r.persona_create.clone(), json!({
            "name": "Local resolver", "kind": "dns", "enabled": true,
            "config": {"resolvers": ["127.0.0.1:5353"], "timeoutMs": 2000}
        })), r.persona.clone(), e),
        "/personas/{id}": resource("persona", "personas", "Persona", "PersonaId", r.persona_input.clone(), r.persona.clone(), e),
        "/proxies": resources("proxy", "proxies", "Proxy", r.proxy_page.clone(), (r.proxy_create.clone(), json!({
            "address": "socks5://proxy.example.com:1080", "enabled": true
        })), r.proxy.clone(), e),
        "/proxies/{id}": resource("proxy", "proxies", "Proxy", "ProxyId", r.proxy_input.clone(), r.proxy.clone(), e),
    })
}

fn phase_path(op: Value) -> Value {
    json!({
        "parameters": [reference("parameters", "CampaignId"), reference("parameters", "Phase")],
        "post": op
    })
}

/// `POST /<kind>s` and `GET /<kind>s`.
fn resources(
    one: &str,
    many: &str,
    name: &str,
    page: Value,
    create: (Value, Value),
    view: Value,
    e: &Responses,
) -> Value {
    let links = ["get", "patch", "delete"]
        .map(|verb| (format!("{}{name}", title(verb)), format!("{verb}{name}")));
    let create_summary = format!("Create a {one}");
    let list_summary = format!("The caller's {many}");
    let (create_id, list_id) = (format!("create{name}"), format!("list{}", title(many)));
    json!({
        "post": Op {
            id: &create_id, tag: many, summary: &create_summary,
            body: Some(create),
            ok: Some((201, "created", view, &[])),
            links: links.iter().map(|(n, op)| (n.clone(), op.as_str(), json!({"id": "$response.body#/id"}))).collect(),
            answers: &[400, 401, 413, 422, 429, 503],
            ..Op::default()
        }.render(e),
        "get": Op {
            id: &list_id, tag: many, summary: &list_summary,
            params: &["Limit100", "Cursor"],
            ok: Some((200, "one page", page, &[])),
            answers: &[400, 401, 429, 503],
            ..Op::default()
        }.render(e)
    })
}

/// `GET`, `PATCH` and `DELETE /<kind>s/{id}`.
fn resource(
    one: &str,
    many: &str,
    name: &str,
    id: &str,
    input: Value,
    view: Value,
    e: &Responses,
) -> Value {
    let (get, patch, delete) = (
        format!("get{name}"),
        format!("patch{name}"),
        format!("delete{name}"),
    );
    let (get_s, patch_s, delete_s) = (
        format!("One {one}"),
        format!("Change a {one}"),
        format!("Delete a {one}"),
    );
    json!({
        "parameters": [reference("parameters", id)],
        "get": Op {
            id: &get, tag: many, summary: &get_s,
            ok: Some((200, "the resource", view.clone(), &[])),
            answers: READ,
            ..Op::default()
        }.render(e),
        "patch": Op {
            id: &patch, tag: many, summary: &patch_s,
            description: "Only the fields given change; each is checked as at create (a changed `kind` or `config` against the phase that uses the kind). Written conditionally on the version read (`version` + 1).",
            body: Some((input, json!({"enabled": false}))),
            ok: Some((200, "the resource", view, &[])),
            answers: &[400, 401, 404, 413, 422, 429, 503],
            ..Op::default()
        }.render(e),
        "delete": Op {
            id: &delete, tag: many, summary: &delete_s,
            description: "409 `RESOURCE_IN_USE` while one of the caller's campaigns references it.",
            answers: &[204, 401, 404, 409, 429, 503],
            ..Op::default()
        }.render(e)
    })
}
