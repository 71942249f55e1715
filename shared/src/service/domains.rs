//! `GET /campaigns/{id}/domains`: discovery's output in generation order, optionally with every
//! later phase's per-domain result (`?include=results`) or filtered by a status (`?status=`, on
//! the latest phase that ran and knows that status; `pending` = no result from the latest phase
//! that ran yet). The cursor is the index of the next domain to look at. Only output that a phase
//! recorded in its current run is shown (`PhaseState::shows_chunk`).

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::write::{Caller, load};
use crate::domain::{Campaign, DISCOVERY, PIPELINE, PhaseName, PhaseStatus};
use crate::error::AppError;
use crate::phases::{self, discovery};
use crate::state::AppState;
use crate::store::ChunkOutput;

/// How many chunks one filtered listing request reads at most (then it returns a cursor).
pub const MAX_CHUNKS_PER_PAGE: u64 = 10;

/// Which domains a listing returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    All,
    /// Domains whose result from `phase` has this status.
    Status(PhaseName, String),
    /// Domains without a result yet from `phase` (the latest phase that ran).
    Pending(PhaseName),
}

/// Every status `?status=` accepts, for the 400 message.
pub fn known_statuses() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = PIPELINE
        .iter()
        .flat_map(|n| phases::phase(*n).statuses())
        .copied()
        .collect();
    all.sort();
    all.dedup();
    all.push("pending");
    all
}

fn latest_phase_that_ran(c: &Campaign) -> Option<PhaseName> {
    PIPELINE
        .iter()
        .rev()
        .copied()
        .filter(|n| *n != DISCOVERY && phases::phase(*n).result_key().is_some())
        .find(|n| c.phase(*n).status != PhaseStatus::NotStarted)
}

/// Parses `?status=` for this campaign.
pub fn filter(c: &Campaign, status: Option<&str>) -> Result<Filter, AppError> {
    let bad = || {
        AppError::bad_request(
            format!("status must be one of {}", known_statuses().join(", ")),
            Some("status".into()),
        )
    };
    match status {
        None => Ok(Filter::All),
        Some("pending") => Ok(Filter::Pending(
            latest_phase_that_ran(c).unwrap_or(crate::domain::VALIDATION),
        )),
        Some(s) => phases::phase_for_status(c, s)
            .map(|p| Filter::Status(p, s.to_string()))
            .ok_or_else(bad),
    }
}

/// A phase's shown results of one chunk: the phase, its `result_key`, one result per domain.
type Shown = (PhaseName, &'static str, Vec<Value>);

/// One chunk's shown results per phase.
fn shown_results(
    c: &Campaign,
    chunk: u64,
    outputs: &[&ChunkOutput],
) -> Result<Vec<Shown>, AppError> {
    let mut out = Vec::new();
    for o in outputs {
        let phase = phases::phase(o.phase);
        if let Some(key) = phase.result_key()
            && c.phase(o.phase).shows_chunk(chunk, o.run)
        {
            out.push((o.phase, key, phase.results(o)?));
        }
    }
    Ok(out)
}

/// One page: the items (plain domain strings, or objects with results) and the next cursor.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    limit: u64,
    cursor: Option<u64>,
    status: Option<&str>,
    include_results: bool,
) -> Result<(Vec<Value>, Option<u64>), AppError> {
    let campaign = load(state, id, Some(&caller.owner)).await?;
    let filter = filter(&campaign, status)?;
    let with_results = include_results || filter != Filter::All;
    let d = campaign.phase(DISCOVERY);
    let (done, chunk_size) = (d.progress.done, d.chunk_size);
    let start = cursor.unwrap_or(0);
    if start >= done || chunk_size == 0 {
        return Ok((Vec::new(), None));
    }
    let first = start / chunk_size;
    let last = (done - 1) / chunk_size;
    let wanted = if filter == Filter::All {
        (start + limit - 1).min(done - 1) / chunk_size - first + 1
    } else {
        MAX_CHUNKS_PER_PAGE
    };
    let outputs = state
        .chunks
        .range(id, first, wanted.min(last - first + 1))
        .await?;
    let mut items = Vec::new();
    let mut scanned_to = start;
    for chunk in first..first + wanted.min(last - first + 1) {
        let of_chunk: Vec<&ChunkOutput> = outputs.iter().filter(|o| o.chunk == chunk).collect();
        let Some(domains) = of_chunk
            .iter()
            .find(|o| o.phase == DISCOVERY && d.shows_chunk(chunk, o.run))
            .map(|o| discovery::domains_of(&o.data))
        else {
            return Err(AppError::internal(format!(
                "discovery output of chunk {chunk} is missing"
            )));
        };
        let results = if with_results {
            shown_results(&campaign, chunk, &of_chunk)?
        } else {
            Vec::new()
        };
        let base = chunk * chunk_size;
        for (offset, domain) in domains.into_iter().enumerate() {
            let index = base + offset as u64;
            if index < start || index >= done {
                continue;
            }
            scanned_to = index + 1;
            let of = |phase: PhaseName| {
                results
                    .iter()
                    .find(|(p, _, _)| *p == phase)
                    .and_then(|(_, _, r)| r.get(offset))
            };
            let keep = match &filter {
                Filter::All => true,
                Filter::Status(phase, want) => {
                    of(*phase).is_some_and(|r| r["status"] == json!(want))
                }
                Filter::Pending(phase) => of(*phase).is_none(),
            };
            if !keep {
                continue;
            }
            items.push(if with_results {
                let mut item = Map::new();
                item.insert("domain".into(), Value::String(domain));
                for (_, key, r) in &results {
                    if let Some(v) = r.get(offset) {
                        item.insert((*key).to_string(), v.clone());
                    }
                }
                Value::Object(item)
            } else {
                Value::String(domain)
            });
            if items.len() as u64 == limit {
                return Ok((items, (scanned_to < done).then_some(scanned_to)));
            }
        }
        scanned_to = scanned_to.max((base + chunk_size).min(done));
    }
    Ok((items, (scanned_to < done).then_some(scanned_to)))
}
