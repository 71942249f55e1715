//! Personas and proxies CRUD. A persona's config is checked by the phase that uses its kind
//! (`Phase::persona_problems`); a PATCH is written conditionally on the version it read; a
//! resource a campaign references cannot be deleted (409 `RESOURCE_IN_USE`).

use serde::Deserialize;
use uuid::Uuid;

use super::write::Caller;
use crate::domain::resources::{
    MAX_PERSONA_CONFIG_BYTES, OwnedResource, Persona, PersonaKind, Proxy, validate_name,
    validate_proxy_address,
};
use crate::domain::{Campaign, PIPELINE, now_millis};
use crate::error::{AppError, ConflictCode, FieldProblem};
use crate::net::AddressPolicy;
use crate::phases;
use crate::state::AppState;
use crate::store::{Page, ResourceStore, Write};

type JsonMap = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonaInput {
    /// 1–120 characters, not blank; required at create.
    #[schema(nullable = false, min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: Option<String>,
    /// Required at create.
    #[schema(nullable = false)]
    pub kind: Option<PersonaKind>,
    /// Default `true` at create.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
    /// At most 16 KiB of JSON, checked by the phase that uses the persona's kind (`dns`: a
    /// `DnsPersonaConfig`). Default `{}` at create.
    #[schema(value_type = Object, required = false)]
    pub config: Option<JsonMap>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxyInput {
    /// `http://host:port` or `socks5://host:port`: host a DNS name or IPv4 address, port
    /// 1–65535. Required at create.
    #[schema(
        nullable = false,
        pattern = r"^(http|socks5)://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*:[1-9][0-9]{0,4}$",
        example = "http://127.0.0.1:8080"
    )]
    pub address: Option<String>,
    /// Default `true` at create.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// Which store holds a resource kind, and how a campaign references it.
pub trait ResourceKind: OwnedResource {
    fn store(state: &AppState) -> &dyn ResourceStore<Self>;
    fn referenced_by(campaign: &Campaign, id: Uuid) -> bool;
}

impl ResourceKind for Persona {
    fn store(state: &AppState) -> &dyn ResourceStore<Self> {
        state.personas.as_ref()
    }
    fn referenced_by(campaign: &Campaign, id: Uuid) -> bool {
        campaign.config.persona_ids.contains(&id)
    }
}

impl ResourceKind for Proxy {
    fn store(state: &AppState) -> &dyn ResourceStore<Self> {
        state.proxies.as_ref()
    }
    fn referenced_by(campaign: &Campaign, id: Uuid) -> bool {
        campaign.config.proxy_ids.contains(&id)
    }
}

/// The size limit of every persona config, and the checks of the phase that uses its kind.
pub fn persona_config_problems(
    kind: PersonaKind,
    config: &JsonMap,
    policy: &AddressPolicy,
) -> Vec<FieldProblem> {
    let mut problems: Vec<FieldProblem> = PIPELINE
        .iter()
        .map(|n| phases::phase(*n))
        .filter(|p| p.persona_kind() == Some(kind))
        .flat_map(|p| p.persona_problems(config, "config", policy))
        .collect();
    let size = serde_json::to_vec(config)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_PERSONA_CONFIG_BYTES {
        problems.push(FieldProblem::new(
            "config",
            format!("must be at most {MAX_PERSONA_CONFIG_BYTES} bytes of JSON"),
        ));
    }
    problems
}

pub async fn create_persona(
    state: &AppState,
    caller: &Caller,
    input: PersonaInput,
) -> Result<Persona, AppError> {
    let mut problems = Vec::new();
    validate_name("name", input.name.as_deref(), &mut problems);
    let config = input.config.unwrap_or_default();
    match input.kind {
        None => problems.push(FieldProblem::new("kind", "is required")),
        Some(kind) => problems.extend(persona_config_problems(kind, &config, &state.policy)),
    }
    let (Some(name), Some(kind), true) = (input.name, input.kind, problems.is_empty()) else {
        return Err(AppError::invalid_config(problems));
    };
    let now = now_millis();
    let persona = Persona {
        id: Uuid::new_v4(),
        owner_id: caller.owner.clone(),
        name: name.trim().to_string(),
        kind,
        enabled: input.enabled.unwrap_or(true),
        config,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    state.personas.put(&persona, None).await?;
    Ok(persona)
}

pub async fn create_proxy(
    state: &AppState,
    caller: &Caller,
    input: ProxyInput,
) -> Result<Proxy, AppError> {
    let mut problems = Vec::new();
    validate_proxy_address(input.address.as_deref(), &mut problems);
    let (Some(address), true) = (input.address, problems.is_empty()) else {
        return Err(AppError::invalid_config(problems));
    };
    let now = now_millis();
    let proxy = Proxy {
        id: Uuid::new_v4(),
        owner_id: caller.owner.clone(),
        address,
        enabled: input.enabled.unwrap_or(true),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    state.proxies.put(&proxy, None).await?;
    Ok(proxy)
}

pub async fn get<T: ResourceKind>(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<T, AppError> {
    T::store(state)
        .get(&caller.owner, id)
        .await?
        .ok_or(AppError::NotFound(T::KIND))
}

pub async fn list<T: ResourceKind>(
    state: &AppState,
    caller: &Caller,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<T>, AppError> {
    T::store(state).list(&caller.owner, limit, cursor).await
}

/// Read, change, write conditionally on the version read; a lost race re-reads.
async fn patch<T: ResourceKind>(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    mut change: impl FnMut(&mut T) -> Result<(), AppError>,
) -> Result<T, AppError> {
    for _ in 0..super::write::MAX_WRITE_ATTEMPTS {
        let mut resource: T = get(state, caller, id).await?;
        let read = resource.version();
        change(&mut resource)?;
        if T::store(state).put(&resource, Some(read)).await? == Write::Done {
            return Ok(resource);
        }
    }
    Err(super::write::too_many_conflicts())
}

pub async fn patch_persona(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: PersonaInput,
) -> Result<Persona, AppError> {
    patch(state, caller, id, |persona: &mut Persona| {
        let mut problems = Vec::new();
        if input.name.is_some() {
            validate_name("name", input.name.as_deref(), &mut problems);
        }
        let kind = input.kind.unwrap_or(persona.kind);
        if input.config.is_some() || input.kind.is_some() {
            let config = input.config.as_ref().unwrap_or(&persona.config);
            problems.extend(persona_config_problems(kind, config, &state.policy));
        }
        if !problems.is_empty() {
            return Err(AppError::invalid_config(problems));
        }
        if let Some(name) = &input.name {
            persona.name = name.trim().to_string();
        }
        persona.kind = kind;
        if let Some(enabled) = input.enabled {
            persona.enabled = enabled;
        }
        if let Some(config) = &input.config {
            persona.config = config.clone();
        }
        persona.version += 1;
        persona.updated_at = now_millis();
        Ok(())
    })
    .await
}

pub async fn patch_proxy(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: ProxyInput,
) -> Result<Proxy, AppError> {
    patch(state, caller, id, |proxy: &mut Proxy| {
        if input.address.is_some() {
            let mut problems = Vec::new();
            validate_proxy_address(input.address.as_deref(), &mut problems);
            if !problems.is_empty() {
                return Err(AppError::invalid_config(problems));
            }
        }
        if let Some(address) = &input.address {
            proxy.address = address.clone();
        }
        if let Some(enabled) = input.enabled {
            proxy.enabled = enabled;
        }
        proxy.version += 1;
        proxy.updated_at = now_millis();
        Ok(())
    })
    .await
}

/// Deletes a persona or proxy unless one of the owner's campaigns references it. (A campaign
/// created concurrently with the delete can still reference it; pre-start validation then
/// reports it as not found.)
pub async fn delete<T: ResourceKind>(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<(), AppError> {
    get::<T>(state, caller, id).await?;
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = state
            .campaigns
            .list(&caller.owner, 100, cursor.as_deref())
            .await?;
        if let Some(user) = page.iter().find(|c| T::referenced_by(c, id)) {
            return Err(AppError::conflict(
                ConflictCode::ResourceInUse,
                format!("{} {id} is referenced by campaign {}", T::KIND, user.id),
            ));
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    match T::store(state).delete(&caller.owner, id).await? {
        Write::Done => Ok(()),
        Write::Conflict => Err(AppError::NotFound(T::KIND)),
    }
}
