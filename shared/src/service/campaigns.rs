//! Campaign use cases behind the HTTP API: create, read, list, change mode or config, start a
//! phase, delete, list domains. Handlers parse and map; the decisions are made here and in the
//! domain.

use serde::Deserialize;
use uuid::Uuid;

use crate::adapters::dns::{DnsCheck, DnsStatus};
use crate::adapters::dynamo::{CampaignRepo, DomainRepo, ResourceRepo, Write};
use crate::adapters::queue::{AutoStartMessage, Queue};
use crate::config::AppState;
use crate::domain::resources::{DnsPersonaConfig, OwnedResource, Persona, PersonaKind, Proxy};
use crate::domain::{
    AutoStartStatus, Campaign, CampaignConfig, DiscoveryInput, ErrorInfo, Mode, ModeChange,
    PhaseName, Trigger, now_millis,
};
use crate::error::{AppError, FieldProblem};
use crate::telemetry;

/// Who is calling, and the correlation id of the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub owner: String,
    pub correlation_id: String,
}

pub const MAX_REFERENCES: usize = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigInput {
    pub discovery: Option<DiscoveryInput>,
    pub persona_ids: Option<Vec<Uuid>>,
    pub proxy_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCampaignInput {
    pub name: Option<String>,
    pub mode: Option<Mode>,
    pub config: Option<ConfigInput>,
}

impl AppState {
    pub fn campaigns(&self) -> CampaignRepo<'_> {
        CampaignRepo::new(&self.ddb, &self.settings.campaigns_table)
    }
    pub fn personas(&self) -> ResourceRepo<'_> {
        ResourceRepo::new(&self.ddb, &self.settings.personas_table)
    }
    pub fn proxies(&self) -> ResourceRepo<'_> {
        ResourceRepo::new(&self.ddb, &self.settings.proxies_table)
    }
    pub fn domains(&self) -> DomainRepo<'_> {
        DomainRepo::new(&self.ddb, &self.settings.domains_table)
    }
    pub fn autostart_queue(&self) -> Queue<'_> {
        Queue::new(&self.sqs, &self.settings.autostart_queue_url)
    }
    pub fn phase_work_queue(&self) -> Queue<'_> {
        Queue::new(&self.sqs, &self.settings.phase_work_queue_url)
    }
}

const MAX_WRITE_ATTEMPTS: usize = 10;

/// Runs `attempt` until it commits: `Ok(None)` means it lost an optimistic-concurrency race and
/// must re-read and re-decide, after a short randomized pause.
pub async fn with_retries<T, Fut>(mut attempt: impl FnMut() -> Fut) -> Result<T, AppError>
where
    Fut: std::future::Future<Output = Result<Option<T>, AppError>>,
{
    for n in 0..MAX_WRITE_ATTEMPTS {
        if let Some(out) = attempt().await? {
            return Ok(out);
        }
        conflict_pause(n).await;
    }
    Err(too_many_conflicts())
}

async fn conflict_pause(attempt: usize) {
    tracing::debug!(attempt, "version conflict, re-reading");
    let pause = rand::random_range(1..=(5u64 << attempt.min(5)));
    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
}

fn too_many_conflicts() -> AppError {
    AppError::Unavailable("too many concurrent writes to the campaign".into())
}

/// Reads a campaign: the caller's (`owner`), or any for trusted workers (`None`).
pub async fn load(state: &AppState, id: Uuid, owner: Option<&str>) -> Result<Campaign, AppError> {
    match owner {
        Some(owner) => state.campaigns().get_owned(id, owner).await,
        None => state
            .campaigns()
            .get(id)
            .await?
            .ok_or(AppError::NotFound("campaign")),
    }
}

/// Writes `campaign` if it changed since `read_version` (every domain method bumps `version`
/// once when it changes something). `false` = someone else wrote first.
pub async fn commit(
    state: &AppState,
    campaign: &Campaign,
    read_version: u64,
) -> Result<bool, AppError> {
    if campaign.version == read_version {
        return Ok(true);
    }
    debug_assert_eq!(
        campaign.version,
        read_version + 1,
        "one write bumps the version once"
    );
    Ok(state.campaigns().save(campaign, read_version).await? == Write::Done)
}

/// Read–modify–write with optimistic concurrency: reads the campaign, lets `f` change it, and
/// writes it conditionally on the version read; a lost race re-reads and re-decides.
pub async fn mutate<T>(
    state: &AppState,
    id: Uuid,
    owner: Option<&str>,
    mut f: impl FnMut(&mut Campaign) -> Result<T, AppError>,
) -> Result<(Campaign, T), AppError> {
    for n in 0..MAX_WRITE_ATTEMPTS {
        let mut campaign = load(state, id, owner).await?;
        let read = campaign.version;
        let out = f(&mut campaign)?;
        if commit(state, &campaign, read).await? {
            return Ok((campaign, out));
        }
        conflict_pause(n).await;
    }
    Err(too_many_conflicts())
}

fn check_if_match(if_match: Option<u64>, campaign: &Campaign) -> Result<(), AppError> {
    match if_match {
        Some(expected) if expected != campaign.version => Err(AppError::VersionMismatch {
            expected,
            current: campaign.version,
        }),
        _ => Ok(()),
    }
}

/// Checks the ids of one reference list: at most 20, no duplicates, and (when `must_exist`) each
/// one the caller's.
async fn check_references<T: OwnedResource>(
    repo: ResourceRepo<'_>,
    owner: &str,
    field: &str,
    ids: &[Uuid],
    require_enabled: bool,
    problems: &mut Vec<FieldProblem>,
) -> Result<(), AppError> {
    if ids.len() > MAX_REFERENCES {
        problems.push(FieldProblem::new(
            field,
            format!("at most {MAX_REFERENCES} ids"),
        ));
        return Ok(());
    }
    let lookups = ids.iter().map(|id| repo.get::<T>(owner, *id));
    let found = futures_util::future::join_all(lookups).await;
    for (i, (id, result)) in ids.iter().zip(found).enumerate() {
        let field = format!("{field}[{i}]");
        if ids[..i].contains(id) {
            problems.push(FieldProblem::new(field, "is a duplicate"));
            continue;
        }
        match result? {
            None => problems.push(FieldProblem::new(
                field,
                format!("{} {id} not found", T::KIND),
            )),
            Some(r) if require_enabled && !r.enabled() => problems.push(FieldProblem::new(
                field,
                format!("{} {id} is disabled", T::KIND),
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// A validated `PUT …/config` (or create) body: the parts to replace.
#[derive(Debug, Clone, Default)]
pub struct ConfigPatch {
    pub discovery: Option<crate::domain::DiscoveryConfig>,
    pub persona_ids: Option<Vec<Uuid>>,
    pub proxy_ids: Option<Vec<Uuid>>,
}

impl ConfigPatch {
    pub fn apply(&self, config: &mut CampaignConfig) {
        if let Some(d) = &self.discovery {
            config.discovery = Some(d.clone());
        }
        if let Some(ids) = &self.persona_ids {
            config.persona_ids = ids.clone();
        }
        if let Some(ids) = &self.proxy_ids {
            config.proxy_ids = ids.clone();
        }
    }
}

/// Validates a config input: every problem of the discovery part, and references that do not
/// exist for this owner.
async fn validate_config(
    state: &AppState,
    owner: &str,
    input: ConfigInput,
    problems: &mut Vec<FieldProblem>,
) -> Result<ConfigPatch, AppError> {
    let mut patch = ConfigPatch::default();
    if let Some(discovery) = input.discovery {
        match discovery.validate("config.discovery") {
            Ok(d) => patch.discovery = Some(d),
            Err(p) => problems.extend(p),
        }
    }
    if let Some(ids) = input.persona_ids {
        check_references::<Persona>(
            state.personas(),
            owner,
            "config.personaIds",
            &ids,
            false,
            problems,
        )
        .await?;
        patch.persona_ids = Some(ids);
    }
    if let Some(ids) = input.proxy_ids {
        check_references::<Proxy>(
            state.proxies(),
            owner,
            "config.proxyIds",
            &ids,
            false,
            problems,
        )
        .await?;
        patch.proxy_ids = Some(ids);
    }
    Ok(patch)
}

/// What a phase start needs to know: how many work items, in chunks of what size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartPlan {
    pub total: u64,
    pub chunk_size: u64,
}

/// The campaign's DNS persona (the first referenced persona of kind `dns`) and its config, or the
/// problem that prevents validation from using one.
pub async fn dns_persona(
    state: &AppState,
    campaign: &Campaign,
) -> Result<Result<(Persona, DnsPersonaConfig), FieldProblem>, AppError> {
    for (i, id) in campaign.config.persona_ids.iter().enumerate() {
        let Some(persona) = state
            .personas()
            .get::<Persona>(&campaign.owner_id, *id)
            .await?
        else {
            continue;
        };
        if persona.kind != PersonaKind::Dns {
            continue;
        }
        return Ok(
            match DnsPersonaConfig::parse(
                &persona.config,
                &format!("config.personaIds[{i}].config"),
            ) {
                Ok(config) => Ok((persona, config)),
                Err(mut problems) => Err(problems.remove(0)),
            },
        );
    }
    Ok(Err(FieldProblem::new(
        "config.personaIds",
        "a persona of kind dns with at least one resolver is required to start validation",
    )))
}

/// Pre-start validation of a phase: the configuration it needs is present and valid, and every
/// referenced persona and proxy exists, is the owner's and is enabled. Returns how the phase's
/// work is chunked.
pub async fn pre_start_validation(
    state: &AppState,
    campaign: &Campaign,
    phase: PhaseName,
) -> Result<StartPlan, AppError> {
    let mut problems = Vec::new();
    let plan = match phase {
        PhaseName::Discovery => {
            let total = match &campaign.config.discovery {
                None => {
                    problems.push(FieldProblem::new(
                        "config.discovery",
                        "is required to start discovery",
                    ));
                    0
                }
                Some(d) => match DiscoveryInput::from(d).validate("config.discovery") {
                    Ok(valid) => valid.num_domains,
                    Err(p) => {
                        problems.extend(p);
                        0
                    }
                },
            };
            StartPlan {
                total,
                chunk_size: state.settings.discovery_chunk_size,
            }
        }
        PhaseName::Validation => {
            if let Err(problem) = dns_persona(state, campaign).await? {
                problems.push(problem);
            }
            // Validation works through discovery's output chunk by chunk.
            let discovery = campaign.phase(PhaseName::Discovery);
            StartPlan {
                total: discovery.progress.done,
                chunk_size: discovery.chunk_size.max(1),
            }
        }
    };
    let owner = &campaign.owner_id;
    let config = &campaign.config;
    check_references::<Persona>(
        state.personas(),
        owner,
        "config.personaIds",
        &config.persona_ids,
        true,
        &mut problems,
    )
    .await?;
    check_references::<Proxy>(
        state.proxies(),
        owner,
        "config.proxyIds",
        &config.proxy_ids,
        true,
        &mut problems,
    )
    .await?;
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(AppError::invalid_config(problems))
    }
}

/// `POST /campaigns` (without the idempotency wrapper, see [`crate::api`]).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: CreateCampaignInput,
) -> Result<Campaign, AppError> {
    let mut problems = Vec::new();
    crate::domain::resources::validate_name("name", input.name.as_deref(), &mut problems);
    let patch = validate_config(
        state,
        &caller.owner,
        input.config.unwrap_or_default(),
        &mut problems,
    )
    .await?;
    if !problems.is_empty() {
        return Err(AppError::invalid_config(problems));
    }
    let mut config = CampaignConfig::default();
    patch.apply(&mut config);
    let name = input.name.unwrap_or_default().trim().to_string();
    let mode = input.mode.unwrap_or(Mode::StepByStep);
    let campaign = Campaign::new(
        &caller.owner,
        name,
        mode,
        config,
        caller.correlation_id.clone(),
        now_millis(),
    );
    match state.campaigns().insert(&campaign).await? {
        Write::Done => {}
        Write::Conflict => return Err(AppError::internal("campaign id collision")),
    }
    tracing::info!(campaignId = %campaign.id, mode = ?campaign.mode, "campaign created");
    Ok(send_auto_start_if_queued(state, campaign).await)
}

/// After a write that queued an auto-start, sends its message. Creation never fails because of
/// this: when the send fails (after the SDK's own retries) the auto-start is marked `failed`
/// with `ENQUEUE_FAILED`, visible to the user, who can start by hand.
async fn send_auto_start_if_queued(state: &AppState, campaign: Campaign) -> Campaign {
    if campaign.auto_start.status != AutoStartStatus::Queued {
        return campaign;
    }
    let (Some(phase), Some(requested_at)) =
        (campaign.auto_start.phase, campaign.auto_start.requested_at)
    else {
        return campaign;
    };
    let message = AutoStartMessage {
        campaign_id: campaign.id,
        phase,
        correlation_id: campaign.correlation_id.clone(),
        requested_at,
    };
    let Err(send_error) = state
        .autostart_queue()
        .send(&message, &campaign.correlation_id)
        .await
    else {
        tracing::info!(campaignId = %campaign.id, %phase, "auto-start queued");
        return campaign;
    };
    tracing::error!(campaignId = %campaign.id, error = %send_error, "auto-start message could not be sent");
    telemetry::auto_start_failure("ENQUEUE_FAILED");
    let info = ErrorInfo {
        code: "ENQUEUE_FAILED".into(),
        message: "the auto-start request could not be queued; start the phase manually".into(),
        details: vec![],
    };
    let marked = mutate(state, campaign.id, None, |c: &mut Campaign| {
        if c.auto_start.requested_at == Some(requested_at) {
            c.end_auto_start(AutoStartStatus::Failed, Some(info.clone()), 0, now_millis());
        }
        Ok(())
    })
    .await;
    match marked {
        Ok((c, ())) => c,
        Err(e) => {
            // The campaign stays `queued`; the stale-queue sweep is documented as future work.
            tracing::error!(campaignId = %campaign.id, error = %e, "could not mark ENQUEUE_FAILED");
            campaign
        }
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: Uuid) -> Result<Campaign, AppError> {
    state.campaigns().get_owned(id, &caller.owner).await
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<Campaign>, Option<String>), AppError> {
    state.campaigns().list(&caller.owner, limit, cursor).await
}

/// `PUT /campaigns/{id}/mode`.
pub async fn change_mode(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    mode: Mode,
    if_match: Option<u64>,
) -> Result<Campaign, AppError> {
    let (campaign, change) = mutate(state, id, Some(&caller.owner), |c: &mut Campaign| {
        check_if_match(if_match, c)?;
        Ok(c.change_mode(mode, now_millis()))
    })
    .await?;
    tracing::info!(campaignId = %id, ?mode, ?change, "mode change");
    match change {
        ModeChange::Changed {
            auto_start_queued: true,
        } => Ok(send_auto_start_if_queued(state, campaign).await),
        _ => Ok(campaign),
    }
}

/// `PUT /campaigns/{id}/config`: validated first, then applied to whatever version is current
/// (or only to the `If-Match` version).
pub async fn replace_config(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: ConfigInput,
    if_match: Option<u64>,
) -> Result<Campaign, AppError> {
    let current = state.campaigns().get_owned(id, &caller.owner).await?;
    check_if_match(if_match, &current)?;
    let mut problems = Vec::new();
    let patch = validate_config(state, &caller.owner, input, &mut problems).await?;
    if !problems.is_empty() {
        return Err(AppError::invalid_config(problems));
    }
    let (campaign, ()) = mutate(state, id, Some(&caller.owner), |c: &mut Campaign| {
        check_if_match(if_match, c)?;
        let mut config = c.config.clone();
        patch.apply(&mut config);
        c.replace_config(config, now_millis())
    })
    .await?;
    Ok(campaign)
}

/// `POST /campaigns/{id}/phases/{phase}/start`: the manual start. The state checks (409) come
/// first, then the pre-start validation (422), then one conditional write.
pub async fn start_phase(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    phase: PhaseName,
) -> Result<Campaign, AppError> {
    let campaign = with_retries(|| async move {
        let mut c = load(state, id, Some(&caller.owner)).await?;
        let read = c.version;
        c.check_can_start(phase)?;
        let plan = pre_start_validation(state, &c, phase).await?;
        c.start_phase(
            phase,
            Trigger::Manual,
            plan.total,
            plan.chunk_size,
            0,
            now_millis(),
        )?;
        Ok(commit(state, &c, read).await?.then_some(c))
    })
    .await?;
    tracing::info!(campaignId = %id, %phase, "phase started manually");
    Ok(campaign)
}

/// `DELETE /campaigns/{id}`: refused while a phase runs; the domain chunks go with it.
pub async fn delete(state: &AppState, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let campaign = state.campaigns().get_owned(id, &caller.owner).await?;
        if let Some(running) = campaign.running_phase() {
            return Err(AppError::conflict(
                crate::error::ConflictCode::ResourceInUse,
                format!("{running} is running; wait for it to finish"),
            ));
        }
        if state.campaigns().delete(&campaign).await? == Write::Done {
            state.domains().delete_all(id).await?;
            tracing::info!(campaignId = %id, "campaign deleted");
            return Ok(());
        }
    }
    Err(too_many_conflicts())
}

/// Which domains a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainFilter {
    All,
    /// Not validated yet.
    Pending,
    Status(DnsStatus),
}

impl DomainFilter {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "resolved" => Self::Status(DnsStatus::Resolved),
            "unresolved" => Self::Status(DnsStatus::Unresolved),
            "error" => Self::Status(DnsStatus::Error),
            _ => return None,
        })
    }

    fn matches(self, check: Option<&DnsCheck>) -> bool {
        match (self, check) {
            (Self::All, _) => true,
            (Self::Pending, c) => c.is_none(),
            (Self::Status(want), Some(c)) => c.status == want,
            (Self::Status(_), None) => false,
        }
    }
}

/// One listed domain with its validation result, once it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEntry {
    pub domain: String,
    pub check: Option<DnsCheck>,
}

/// How many chunks one filtered listing request reads at most (then it returns a cursor).
const MAX_CHUNKS_PER_PAGE: u64 = 10;

/// `GET /campaigns/{id}/domains`: discovery output in generation order, optionally filtered by
/// validation status. The cursor is the index of the next domain to look at; only domains
/// counted in discovery's progress are listed. A filtered page may hold fewer than `limit`
/// items (it reads at most ten chunks) and still have a cursor.
pub async fn list_domains(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    limit: u64,
    cursor: Option<u64>,
    filter: DomainFilter,
) -> Result<(Vec<DomainEntry>, Option<u64>), AppError> {
    let campaign = state.campaigns().get_owned(id, &caller.owner).await?;
    let phase = campaign.phase(PhaseName::Discovery);
    let (done, chunk_size) = (phase.progress.done, phase.chunk_size);
    let start = cursor.unwrap_or(0);
    if start >= done || chunk_size == 0 {
        return Ok((Vec::new(), None));
    }
    let first_chunk = start / chunk_size;
    let last_chunk = (done - 1) / chunk_size;
    let wanted_chunks = if filter == DomainFilter::All {
        (start + limit - 1).min(done - 1) / chunk_size - first_chunk + 1
    } else {
        MAX_CHUNKS_PER_PAGE
    };
    let count = wanted_chunks.min(last_chunk - first_chunk + 1);
    let chunks = state
        .domains()
        .chunks_from(id, first_chunk, count as i32)
        .await?;
    let mut items = Vec::new();
    let mut scanned_to = start;
    for item in chunks {
        let base = item.chunk * chunk_size;
        for (offset, domain) in item.domains.into_iter().enumerate() {
            let index = base + offset as u64;
            if index < start || index >= done {
                continue;
            }
            scanned_to = index + 1;
            let check = item
                .validation
                .as_ref()
                .and_then(|v| v.get(offset))
                .cloned();
            if filter.matches(check.as_ref()) {
                items.push(DomainEntry { domain, check });
                if items.len() as u64 == limit {
                    return Ok((items, (scanned_to < done).then_some(scanned_to)));
                }
            }
        }
        scanned_to = scanned_to.max((base + chunk_size).min(done));
    }
    Ok((items, (scanned_to < done).then_some(scanned_to)))
}
