//! One create, one campaign (BEHAVIOUR.md: one `(user, Idempotency-Key)` yields at most one
//! campaign, also when the first request crashed between its writes). Every wizard names each
//! campaign after its create's `Idempotency-Key`, so each user's listing (`GET /campaigns`, all
//! pages) must hold each name at most once, under the id the 201 gave, and no campaign the
//! wizard did not ask for (a create it gave up on may have left one: that is reported apart).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use super::Findings;
use crate::loadgen::api::Api;

/// What one wizard asked for.
pub struct Asked {
    pub api: Api,
    /// Name → the id its 201 answered.
    pub created: HashMap<String, String>,
    /// Names of creates given up after the retry budget (they may or may not exist).
    pub given_up: HashSet<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingAudit {
    pub users: usize,
    pub listed: usize,
    /// More than one campaign for one create, another id than the 201's, or one nobody created.
    pub double_created: Findings,
    /// Campaigns of creates the wizard gave up on (created, but the client never learned it).
    pub of_given_up_creates: usize,
}

/// Compares one user's listing, `(name, id)` pairs, with what the wizard asked for.
pub fn judge_listing(asked: &Asked, listed: &[(String, String)], audit: &mut ListingAudit) {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, id) in listed {
        by_name.entry(name).or_default().push(id);
    }
    audit.listed += listed.len();
    for (name, ids) in by_name {
        if ids.len() > 1 {
            audit.double_created.add(format!(
                "{} campaigns for the create {name:?}: {}",
                ids.len(),
                ids.join(", ")
            ));
        }
        match asked.created.get(name) {
            Some(id) if ids.iter().any(|i| i == id) => {}
            Some(id) => audit.double_created.add(format!(
                "the 201 of {name:?} named {id}, the listing has {}",
                ids.join(", ")
            )),
            None if asked.given_up.contains(name) => audit.of_given_up_creates += 1,
            None => audit.double_created.add(format!(
                "{name:?} ({}) was never created by this wizard",
                ids.join(", ")
            )),
        }
    }
}

/// Lists every wizard's campaigns and judges each listing.
pub async fn check_listings(asked: &[Asked], until: Instant) -> Result<ListingAudit, String> {
    let mut audit = ListingAudit::default();
    for a in asked {
        let listed = a.api.all_campaigns(until).await?;
        audit.users += 1;
        judge_listing(a, &listed, &mut audit);
    }
    Ok(audit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked() -> Asked {
        Asked {
            api: Api {
                http: reqwest::Client::new(),
                base: String::new(),
                token: "t".into(),
                user: "u".into(),
            },
            created: [("a".to_string(), "1".to_string())].into(),
            given_up: ["g".to_string()].into(),
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect()
    }

    #[test]
    fn one_create_one_campaign() {
        let mut a = ListingAudit::default();
        judge_listing(&asked(), &pairs(&[("a", "1"), ("g", "9")]), &mut a);
        assert_eq!((a.double_created.count, a.of_given_up_creates), (0, 1));
        let mut a = ListingAudit::default();
        judge_listing(&asked(), &pairs(&[("a", "1"), ("a", "2")]), &mut a);
        assert_eq!(a.double_created.count, 1, "{:?}", a.double_created);
        let mut a = ListingAudit::default();
        judge_listing(&asked(), &pairs(&[("a", "2"), ("x", "3")]), &mut a);
        assert_eq!(a.double_created.count, 2, "{:?}", a.double_created);
    }
}
