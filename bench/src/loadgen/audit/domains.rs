//! Domains (invariants 2 and 6): every completed campaign's domain list, all pages, equals the
//! independently computed list of an uninterrupted run (same count, same set, same order).

use std::collections::HashSet;
use std::time::Instant;

use futures_util::StreamExt;

use super::Findings;
use crate::loadgen::api::Api;

/// Checks the domains of every completed campaign against the expected list; returns
/// (checked, exact, problems).
pub async fn check_domains(
    completed: &[(String, Api)],
    expected: &[String],
    until: Instant,
) -> (usize, usize, Findings) {
    let results: Vec<(String, Result<Vec<String>, String>)> = futures_util::stream::iter(
        completed
            .iter()
            .map(|(id, api)| async move { (id.clone(), api.all_domains(id, until).await) }),
    )
    .buffer_unordered(8)
    .collect()
    .await;
    let mut exact = 0;
    let mut problems = Findings::default();
    for (id, r) in results {
        match r {
            Ok(domains) if domains == expected => exact += 1,
            Ok(domains) => {
                let distinct: HashSet<&String> = domains.iter().collect();
                problems.add(format!(
                    "{id}: {} domains ({} distinct), expected {}",
                    domains.len(),
                    distinct.len(),
                    expected.len()
                ));
            }
            Err(e) => problems.add(format!("{id}: {e}")),
        }
    }
    (completed.len(), exact, problems)
}
