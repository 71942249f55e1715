//! Keywords: for each domain that validation resolved, fetch `scheme://domain:port/path` for every
//! configured path (`config.keywords`) with the campaign's `http` persona — through its first
//! enabled proxy when it has one — and scan the page for the terms (`fetch.rs` has the fetcher's
//! decisions, `scan.rs` the page scan). Chunk `k` works on discovery's chunk `k` with
//! validation's results of it: a domain that did not resolve is `skipped` without a request, and
//! a resolved one is fetched at the addresses validation found (no second lookup).
//!
//! Invariants:
//! - A chunk ends within `PHASE_CHUNK_BUDGET_SECONDS`: domains not finished by then are `error`
//!   (`deadline`), so the phase always completes.
//! - A stored chunk output fits one DynamoDB item whatever the pages held (`output.rs`).
//! - Redirect hosts and a proxy named by host resolve through the campaign's DNS persona (the
//!   resolvers validation used), so the phase needs that persona too; every address connected
//!   to passes the address policy (`crate::net`).

pub mod config;
pub mod fetch;
pub mod output;
pub mod persona;
pub mod scan;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

pub use config::{KeywordsConfig, KeywordsInput, MatchMode};
pub use fetch::{FetchOptions, Fetcher, HttpCheck, HttpStatus, ProxyAddress, Target};
pub use persona::HttpPersonaConfig;

use super::validation::{DnsValidator, checks_of, dns_config};
use super::{ChunkDone, ChunkInput, Phase, PlanInput, References, read_section};
use crate::domain::pipeline::KEYWORDS;
use crate::domain::resources::PersonaKind;
use crate::domain::{PhaseName, StartPlan, VALIDATION};
use crate::error::{AppError, FieldProblem};
use crate::net::AddressPolicy;
use crate::store::ChunkOutput;

pub struct Keywords;

/// The key of the phase's section in `config`.
pub const FIELD_KEY: &str = "keywords";
const FIELD: &str = "config.keywords";

/// Everything a chunk needs from the campaign's configuration, checked.
pub struct Setup {
    pub keywords: KeywordsConfig,
    pub persona: HttpPersonaConfig,
    pub proxy: Option<ProxyAddress>,
}

impl Keywords {
    /// The campaign's validated keywords section, or the problem that prevents using it.
    pub fn config(section: Option<&Value>) -> Result<KeywordsConfig, Vec<FieldProblem>> {
        let Some(raw) = section else {
            return Err(vec![FieldProblem::new(
                FIELD,
                "is required to start keywords: the terms to look for",
            )]);
        };
        let input: KeywordsInput = read_section(raw, FIELD).map_err(|e| e.details())?;
        input.validate(FIELD)
    }

    /// The section, the `http` persona, the proxy and the DNS persona (for redirect hosts),
    /// with every problem found.
    pub fn setup(
        section: Option<&Value>,
        refs: &References,
        policy: &AddressPolicy,
    ) -> Result<Setup, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let keywords = Self::config(section).map_err(|p| problems.extend(p)).ok();
        let persona = match refs.persona_of_kind(PersonaKind::Http) {
            None => {
                problems.push(FieldProblem::new(
                    "config.personaIds",
                    "a persona of kind http is required to start keywords",
                ));
                None
            }
            Some((i, p)) => HttpPersonaConfig::parse(
                &p.config,
                &format!("config.personaIds[{i}].config"),
                policy,
            )
            .map_err(|p| problems.extend(p))
            .ok(),
        };
        if let Err(p) = dns_config(refs, policy) {
            problems.extend(p.into_iter().map(|p| {
                FieldProblem::new(
                    p.field,
                    format!("{} (keywords resolves redirect hosts with it)", p.problem),
                )
            }));
        }
        let proxy = match refs
            .proxies
            .iter()
            .enumerate()
            .find(|(_, (_, p))| p.as_ref().is_some_and(|p| p.enabled))
        {
            None => None,
            Some((i, (_, p))) => {
                let address = &p.as_ref().expect("found as existing").address;
                match address.parse::<ProxyAddress>() {
                    Ok(proxy) => Some(proxy),
                    Err(why) => {
                        problems.push(FieldProblem::new(format!("config.proxyIds[{i}]"), why));
                        None
                    }
                }
            }
        };
        match (keywords, persona) {
            (Some(keywords), Some(persona)) if problems.is_empty() => Ok(Setup {
                keywords,
                persona,
                proxy,
            }),
            _ => Err(problems),
        }
    }
}

/// The chunk's targets: each domain with the addresses validation resolved (none: skipped).
pub fn targets(input: &ChunkInput<'_>) -> Result<Vec<Target>, AppError> {
    let output = input.output_of(VALIDATION).ok_or_else(|| {
        AppError::internal(format!("chunk {} has no validation output", input.chunk))
    })?;
    let checks = checks_of(output)?;
    if checks.len() != input.domains.len() {
        return Err(AppError::internal(format!(
            "chunk {}: {} domains but {} validation results",
            input.chunk,
            input.domains.len(),
            checks.len()
        )));
    }
    Ok(input
        .domains
        .iter()
        .zip(checks)
        .map(|(domain, check)| Target {
            domain: domain.clone(),
            addresses: check.addresses,
        })
        .collect())
}

impl Phase for Keywords {
    fn name(&self) -> PhaseName {
        KEYWORDS
    }

    fn has_section(&self) -> bool {
        true
    }

    fn validate_section(&self, raw: &Value, field: &str) -> Result<Value, AppError> {
        let input: KeywordsInput = read_section(raw, field)?;
        let config = input.validate(field).map_err(AppError::invalid_config)?;
        Ok(serde_json::to_value(config).expect("a keywords config serializes"))
    }

    fn persona_kind(&self) -> Option<PersonaKind> {
        Some(PersonaKind::Http)
    }

    fn persona_problems(
        &self,
        config: &serde_json::Map<String, Value>,
        field: &str,
        policy: &AddressPolicy,
    ) -> Vec<FieldProblem> {
        HttpPersonaConfig::parse(config, field, policy)
            .err()
            .unwrap_or_default()
    }

    /// Keywords works through validation's output, chunk by chunk (one item per domain).
    fn plan(&self, input: &PlanInput<'_>) -> Result<StartPlan, Vec<FieldProblem>> {
        Self::setup(
            input.campaign.config.section(FIELD_KEY),
            input.refs,
            input.policy,
        )?;
        let validation = input.campaign.phase(VALIDATION);
        Ok(StartPlan {
            total: validation.progress.done,
            chunk_size: validation.chunk_size.max(1),
        })
    }

    fn run_chunk<'a>(
        &'a self,
        input: &'a ChunkInput<'a>,
    ) -> BoxFuture<'a, Result<ChunkDone, AppError>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now()
                + std::time::Duration::from_secs(input.settings.phase_chunk_budget_seconds);
            let setup = Self::setup(
                input.campaign.config.section(FIELD_KEY),
                input.refs,
                input.policy,
            )
            .map_err(|p| {
                AppError::internal(format!("keywords running with an unusable config: {p:?}"))
            })?;
            let dns = dns_config(input.refs, input.policy).map_err(|p| {
                AppError::internal(format!("keywords running without a dns persona: {p:?}"))
            })?;
            let targets = targets(input)?;
            let options = FetchOptions {
                proxy: setup.proxy,
                resolver: Arc::new(DnsValidator::new(&dns)?),
                ..FetchOptions::default()
            };
            let fetcher = Fetcher::new(
                &setup.persona,
                &setup.keywords,
                input.policy.clone(),
                options,
            );
            let checks = fetcher.fetch_all(&targets, deadline).await;
            let statuses: Vec<HttpStatus> = checks.iter().map(|c| c.status).collect();
            Ok(ChunkDone::counted(
                output::store(checks)?,
                statuses.iter().map(|s| s.as_str()),
            ))
        })
    }

    fn result_key(&self) -> Option<&'static str> {
        Some("http")
    }

    fn statuses(&self) -> &'static [&'static str] {
        &HttpStatus::ALL
    }

    fn results(&self, output: &ChunkOutput) -> Result<Vec<Value>, AppError> {
        Ok(output::read(output)?
            .iter()
            .map(HttpCheck::to_api)
            .collect())
    }
}
