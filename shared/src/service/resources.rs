//! Personas and proxies CRUD. A resource a campaign references cannot be deleted
//! (409 `RESOURCE_IN_USE`).

use serde::Deserialize;
use uuid::Uuid;

use super::campaigns::Caller;
use crate::adapters::dynamo::{ResourceRepo, Write};
use crate::config::AppState;
use crate::domain::now_millis;
use crate::domain::resources::{
    OwnedResource, Persona, PersonaKind, Proxy, validate_name, validate_persona_config,
    validate_proxy_address,
};
use crate::error::{AppError, ConflictCode};

type JsonMap = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonaInput {
    pub name: Option<String>,
    pub kind: Option<PersonaKind>,
    pub enabled: Option<bool>,
    pub config: Option<JsonMap>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyInput {
    pub address: Option<String>,
    pub enabled: Option<bool>,
}

/// Which resource table, and how a campaign references it.
pub trait ResourceKind: OwnedResource {
    fn repo(state: &AppState) -> ResourceRepo<'_>;
    fn referenced_by(campaign: &crate::domain::Campaign, id: Uuid) -> bool;
}

impl ResourceKind for Persona {
    fn repo(state: &AppState) -> ResourceRepo<'_> {
        state.personas()
    }
    fn referenced_by(campaign: &crate::domain::Campaign, id: Uuid) -> bool {
        campaign.config.persona_ids.contains(&id)
    }
}

impl ResourceKind for Proxy {
    fn repo(state: &AppState) -> ResourceRepo<'_> {
        state.proxies()
    }
    fn referenced_by(campaign: &crate::domain::Campaign, id: Uuid) -> bool {
        campaign.config.proxy_ids.contains(&id)
    }
}

pub async fn create_persona(
    state: &AppState,
    caller: &Caller,
    input: PersonaInput,
) -> Result<Persona, AppError> {
    let mut problems = Vec::new();
    validate_name("name", input.name.as_deref(), &mut problems);
    if input.kind.is_none() {
        problems.push(crate::error::FieldProblem::new("kind", "is required"));
    }
    let config = input.config.unwrap_or_default();
    validate_persona_config(input.kind, &config, &mut problems);
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
        created_at: now,
        updated_at: now,
    };
    state.personas().put(&persona, false).await?;
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
        created_at: now,
        updated_at: now,
    };
    state.proxies().put(&proxy, false).await?;
    Ok(proxy)
}

pub async fn get<T: ResourceKind>(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<T, AppError> {
    T::repo(state)
        .get::<T>(&caller.owner, id)
        .await?
        .ok_or(AppError::NotFound(T::KIND))
}

pub async fn list<T: ResourceKind>(
    state: &AppState,
    caller: &Caller,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), AppError> {
    T::repo(state).list::<T>(&caller.owner, limit, cursor).await
}

pub async fn patch_persona(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: PersonaInput,
) -> Result<Persona, AppError> {
    let mut persona: Persona = get(state, caller, id).await?;
    let mut problems = Vec::new();
    if input.name.is_some() {
        validate_name("name", input.name.as_deref(), &mut problems);
    }
    if input.config.is_some() || input.kind.is_some() {
        let kind = input.kind.or(Some(persona.kind));
        validate_persona_config(
            kind,
            input.config.as_ref().unwrap_or(&persona.config),
            &mut problems,
        );
    }
    if !problems.is_empty() {
        return Err(AppError::invalid_config(problems));
    }
    if let Some(name) = input.name {
        persona.name = name.trim().to_string();
    }
    if let Some(kind) = input.kind {
        persona.kind = kind;
    }
    if let Some(enabled) = input.enabled {
        persona.enabled = enabled;
    }
    if let Some(config) = input.config {
        persona.config = config;
    }
    persona.updated_at = now_millis();
    match state.personas().put(&persona, true).await? {
        Write::Done => Ok(persona),
        Write::Conflict => Err(AppError::NotFound("persona")),
    }
}

pub async fn patch_proxy(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: ProxyInput,
) -> Result<Proxy, AppError> {
    let mut proxy: Proxy = get(state, caller, id).await?;
    if input.address.is_some() {
        let mut problems = Vec::new();
        validate_proxy_address(input.address.as_deref(), &mut problems);
        if !problems.is_empty() {
            return Err(AppError::invalid_config(problems));
        }
    }
    if let Some(address) = input.address {
        proxy.address = address;
    }
    if let Some(enabled) = input.enabled {
        proxy.enabled = enabled;
    }
    proxy.updated_at = now_millis();
    match state.proxies().put(&proxy, true).await? {
        Write::Done => Ok(proxy),
        Write::Conflict => Err(AppError::NotFound("proxy")),
    }
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
    let campaigns = state.campaigns().all_of_owner(&caller.owner).await?;
    if let Some(user) = campaigns.iter().find(|c| T::referenced_by(c, id)) {
        return Err(AppError::conflict(
            ConflictCode::ResourceInUse,
            format!("{} {id} is referenced by campaign {}", T::KIND, user.id),
        ));
    }
    match T::repo(state).delete(&caller.owner, id).await? {
        Write::Done => Ok(()),
        Write::Conflict => Err(AppError::NotFound(T::KIND)),
    }
}
