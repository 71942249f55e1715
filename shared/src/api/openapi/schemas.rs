//! `components.schemas`: the API types' own schemas (derived with `utoipa::ToSchema`), the two
//! whose shape follows the pipeline ([`PhaseName`], [`CampaignConfig`], implemented here from
//! `PIPELINE` and the phase rows), and the envelopes the routes build inline (pages, the mode
//! body, the domain items, health).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::phases::{Collected, collect, doc};
use crate::domain::resources::{PersonaView, ProxyView};
use crate::domain::view::{CampaignView, StatusView};
use crate::domain::{CampaignConfig, PIPELINE, PhaseName};
use crate::phases;
use crate::service::config_input::CreateCampaignInput;
use crate::service::readiness::MAX_REFERENCES;
use crate::service::resources::{PersonaInput, ProxyInput};

/// A `$ref` to a named schema.
pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The schema's JSON. Serializing a utoipa schema cannot fail.
pub fn to_value<T: serde::Serialize>(schema: &T) -> Value {
    serde_json::to_value(schema).expect("a utoipa schema serializes")
}

/// The phase names, in pipeline order: the `{phase}` of the routes and every `phase` field.
impl PartialSchema for PhaseName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(PIPELINE.iter().map(|p| p.as_str())))
            .description(Some("the pipeline's phases, in order"))
            .into()
    }
}

impl ToSchema for PhaseName {}

fn uuids() -> ArrayBuilder {
    ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String).format(Some(
        utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid),
    )))
}

/// A campaign's `config`: one section per phase that has one (absent until set), and the
/// referenced personas and proxies.
impl PartialSchema for CampaignConfig {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new().description(Some(
            "each phase's section (absent until set) and the referenced personas and proxies",
        ));
        for name in PIPELINE {
            if let Some(section) = doc(*name).section {
                let config = (section.config)(&mut Vec::new());
                object = object.property(name.as_str(), Ref::from_schema_name(config));
            }
        }
        object
            .property("personaIds", uuids())
            .required("personaIds")
            .property("proxyIds", uuids())
            .required("proxyIds")
            .into()
    }
}

impl ToSchema for CampaignConfig {
    fn schemas(out: &mut Collected) {
        for name in PIPELINE {
            if let Some(section) = doc(*name).section {
                (section.config)(out);
            }
        }
    }
}

/// `components.schemas`, by name.
#[derive(Default)]
pub struct Schemas(pub BTreeMap<String, Value>);

impl Schemas {
    /// Adds `T` and what it references; returns a `$ref` to it.
    pub fn add<T: ToSchema>(&mut self) -> Value {
        let mut collected = Vec::new();
        let name = collect::<T>(&mut collected);
        self.extend(collected);
        reference(&name)
    }

    fn extend(&mut self, collected: Collected) {
        for (name, schema) in collected {
            self.insert(&name, to_value(&schema));
        }
    }

    /// Adds a schema built here; returns a `$ref` to it. Two different schemas of one name are a
    /// bug (two Rust types with the same name in the API).
    pub fn insert(&mut self, name: &str, schema: Value) -> Value {
        if let Some(old) = self.0.get(name) {
            assert_eq!(old, &schema, "two different schemas are named {name}");
        }
        self.0.insert(name.to_string(), schema);
        reference(name)
    }
}

fn page(items: Value, max: u32, description: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "nextCursor"],
        "properties": {
            "items": {"type": "array", "maxItems": max, "items": items},
            "nextCursor": {"type": ["string", "null"], "description": description}
        }
    })
}

/// The references of the schemas the operations use.
pub struct Refs {
    pub campaign: Value,
    pub status: Value,
    pub campaign_page: Value,
    pub create_campaign: Value,
    pub config_input: Value,
    pub mode_request: Value,
    pub domain_page: Value,
    pub persona: Value,
    pub persona_page: Value,
    pub persona_input: Value,
    pub persona_create: Value,
    pub proxy: Value,
    pub proxy_page: Value,
    pub proxy_input: Value,
    pub proxy_create: Value,
    pub health: Value,
}

/// Every schema of the document but the error bodies ([`super::errors`]).
pub fn all(s: &mut Schemas) -> Refs {
    let campaign = s.add::<CampaignView>();
    let persona = s.add::<PersonaView>();
    let proxy = s.add::<ProxyView>();
    let opaque = "opaque; null on the last page";

    // The configuration a request gives: each phase's input section, personas and proxies.
    let mut sections = Map::new();
    let mut persona_configs = Vec::new();
    for name in PIPELINE {
        let row = doc(*name);
        if let Some(section) = row.section {
            let mut collected = Vec::new();
            let input = (section.input)(&mut collected);
            s.extend(collected);
            sections.insert(name.to_string(), reference(&input));
        }
        if let Some(persona) = row.persona {
            let mut collected = Vec::new();
            persona_configs.push(persona(&mut collected));
            s.extend(collected);
        }
    }
    let ids = json!({
        "type": "array", "maxItems": MAX_REFERENCES, "uniqueItems": true,
        "items": {"type": "string", "format": "uuid"}
    });
    sections.insert("personaIds".into(), ids.clone());
    sections.insert("proxyIds".into(), ids);
    let config_input = s.insert(
        "ConfigInput",
        json!({
            "type": "object",
            "description": "the parts of `config` to replace; an absent part is kept. Referenced personas and proxies must exist and be the caller's (422 otherwise); being enabled is checked at phase start.",
            "properties": sections
        }),
    );

    // `CreateCampaignInput.config` is read section by section (`validate_config`): the derive
    // can only say "object"; the document says which sections.
    let create_campaign = s.add::<CreateCampaignInput>();
    let create =
        s.0.get_mut("CreateCampaignInput")
            .and_then(|c| c.pointer_mut("/properties/config"))
            .expect("CreateCampaignInput has a config property");
    let description = create["description"].clone();
    *create = json!({"$ref": config_input["$ref"], "description": description});

    // A persona's `config` is any JSON object of its kind (checked by the phase that uses the
    // kind); the derive says only "object", which generators read as "always empty".
    let persona_input = s.add::<PersonaInput>();
    for schema in ["PersonaView", "PersonaInput"] {
        let config =
            s.0.get_mut(schema)
                .and_then(|p| p.pointer_mut("/properties/config"))
                .expect("a persona schema has a config property");
        config["additionalProperties"] = json!(true);
    }
    // The create bodies: the patch bodies' schemas (one Rust type each) with what create needs.
    let mut create = s.0["PersonaInput"].clone();
    create["required"] = json!(["name", "kind"]);
    create["description"] = json!(format!(
        "a new persona; its config is checked by the phase that uses its kind: {}",
        persona_configs.join(", ")
    ));
    let persona_create = s.insert("PersonaCreate", create);
    let proxy_input = s.add::<ProxyInput>();
    let mut create = s.0["ProxyInput"].clone();
    create["required"] = json!(["address"]);
    let proxy_create = s.insert("ProxyCreate", create);

    // A listed domain with `?include=results` or `?status=`: every phase's result under its key.
    let mut results = Map::new();
    results.insert("domain".into(), json!({"type": "string"}));
    for name in PIPELINE {
        let phase = phases::phase(*name);
        if let (Some(key), Some(result)) = (phase.result_key(), doc(*name).result) {
            results.insert(key.into(), result(phase.statuses()));
        }
    }
    let item = s.insert(
        "DomainItem",
        json!({"type": "object", "required": ["domain"], "properties": results,
               "description": "a domain with the result of every phase that has one for it so far"}),
    );

    let mode = s.add::<crate::domain::Mode>();
    let status = s.add::<StatusView>();
    // A campaign lists every pipeline phase once, in order (and its readiness, when present).
    for view in ["CampaignView", "StatusView"] {
        for (field, what) in [
            ("phases", "every pipeline phase"),
            ("readiness", "the pre-start checks of every pipeline phase"),
        ] {
            let list =
                s.0.get_mut(view)
                    .and_then(|v| v.pointer_mut(&format!("/properties/{field}")))
                    .unwrap_or_else(|| panic!("{view} has no {field}"));
            list["minItems"] = json!(PIPELINE.len());
            list["maxItems"] = json!(PIPELINE.len());
            list["description"] = json!(format!("{what}, in pipeline order"));
        }
    }
    Refs {
        status,
        campaign_page: s.insert("CampaignPage", page(campaign.clone(), 100, opaque)),
        mode_request: s.insert(
            "ModeRequest",
            json!({"type": "object", "required": ["mode"], "properties": {"mode": mode}}),
        ),
        domain_page: s.insert(
            "DomainPage",
            json!({
                "description": "discovery's output in its stable generation order; only domains counted in discovery's progress are listed. Items are plain strings unless `include=results` or `status` is given. A filtered page reads at most ten chunks, so it may hold fewer than `limit` items and still have a `nextCursor`.",
                "type": "object",
                "required": ["items", "nextCursor"],
                "properties": {
                    "items": {"type": "array", "maxItems": 1000, "items": {"anyOf": [{"type": "string"}, item]}},
                    "nextCursor": {"type": ["string", "null"], "pattern": "^[0-9]+$", "description": "the index of the next domain; null when there are no more"}
                }
            }),
        ),
        persona_page: s.insert("PersonaPage", page(persona.clone(), 100, opaque)),
        proxy_page: s.insert("ProxyPage", page(proxy.clone(), 100, opaque)),
        health: s.insert(
            "Health",
            json!({"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}),
        ),
        campaign,
        create_campaign,
        config_input,
        persona,
        persona_input,
        persona_create,
        proxy,
        proxy_input,
        proxy_create,
    }
}
