//! Request bodies that carry configuration (`POST /campaigns`, `PUT …/config`): each phase's
//! section is validated by its module, references must exist for the caller (being enabled is
//! a pre-start check), and every problem is reported at once (422 with details).

use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::readiness::reference_problems;
use crate::domain::resources::OwnedResource;
use crate::domain::{ConfigPatch, Mode, PhaseName};
use crate::error::{AppError, FieldProblem};
use crate::phases;
use crate::state::AppState;
use crate::store::ResourceStore;

/// `POST /campaigns` body: every field optional so that a missing one is a 422 problem together
/// with every other problem, not a 400.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(
    description = "A new campaign. Problems in a well-formed body are one 422 `INVALID_CONFIG` listing every problem field."
)]
pub struct CreateCampaignInput {
    /// 1–120 characters, not blank; stored trimmed.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 120,
        pattern = r"\S"
    )]
    pub name: Option<String>,
    /// Default `step_by_step`; `full_sequence` queues the first phase's auto-start in the same
    /// request.
    #[schema(nullable = false)]
    pub mode: Option<Mode>,
    /// May be omitted, or leave out a phase's section (a draft to configure later with
    /// `PUT …/config`).
    #[schema(value_type = Object, required = false)]
    pub config: Option<Map<String, Value>>,
}

fn ids(raw: &Value, field: &str) -> Result<Vec<Uuid>, AppError> {
    phases::read_section(raw, field)
}

async fn check_ids<T: OwnedResource>(
    store: &dyn ResourceStore<T>,
    owner: &str,
    field: &str,
    ids: &[Uuid],
    problems: &mut Vec<FieldProblem>,
) -> Result<(), AppError> {
    let found = futures_util::future::join_all(ids.iter().map(|id| store.get(owner, *id))).await;
    let refs = ids
        .iter()
        .zip(found)
        .map(|(id, r)| r.map(|f| (*id, f)))
        .collect::<Result<Vec<_>, _>>()?;
    problems.extend(reference_problems(field, &refs, false));
    Ok(())
}

/// Validates a config body into the parts to replace; problems are added to `problems` (a 400
/// for wrong JSON types is returned at once). Unknown keys are ignored.
pub async fn validate_config(
    state: &AppState,
    owner: &str,
    input: &Map<String, Value>,
    problems: &mut Vec<FieldProblem>,
) -> Result<ConfigPatch, AppError> {
    let mut patch = ConfigPatch::default();
    for (key, raw) in input {
        if raw.is_null() {
            continue;
        }
        let field = format!("config.{key}");
        match key.as_str() {
            "personaIds" => {
                let list = ids(raw, &field)?;
                check_ids(state.personas.as_ref(), owner, &field, &list, problems).await?;
                patch.persona_ids = Some(list);
            }
            "proxyIds" => {
                let list = ids(raw, &field)?;
                check_ids(state.proxies.as_ref(), owner, &field, &list, problems).await?;
                patch.proxy_ids = Some(list);
            }
            other => {
                let Some(phase) = PhaseName::parse(other)
                    .map(phases::phase)
                    .filter(|p| p.has_section())
                else {
                    continue;
                };
                match phase.validate_section(raw, &field) {
                    Ok(section) => {
                        patch.sections.insert(key.clone(), section);
                    }
                    Err(AppError::Invalid { details, .. }) => problems.extend(details),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(patch)
}
