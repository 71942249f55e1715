//! The judgement of one phase of `one-bad-connection`: what each subscriber received against
//! what the table's stream says the publisher had to push to it.
//!
//! - Every judged subscriber gets exactly the events derived from the stream records of its
//!   user's campaigns (`required`: every event but `phase_progress`): none missing, none that
//!   the stream did not produce. Repeats are counted, not failed: delivery is at least once
//!   (EVENTS.md), and a record is published again whenever its invocation failed — on a
//!   saturated moto, a subscriber lookup that timed out, with or without a bad connection.
//! - `phase_progress` is throttled and coalesced by the publisher, so which progress events are
//!   pushed is its choice; but the choice is per record, never per connection: every judged
//!   subscriber of a user gets the same progress events, each one derived from the stream.
//! - Delivery latency (receipt − the event's `at`, the commit's time) over the first receipt of
//!   every event by every judged subscriber; the fault phase's p95 must stay within
//!   [`P95_LIMIT`] × the baseline's.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::loadgen::audit::{EventKey, Findings};
use crate::percentiles;

/// The fault phase's p95 delivery latency may be at most this many times the baseline's.
pub const P95_LIMIT: f64 = 2.0;

/// What the stream says about one campaign.
#[derive(Debug, Default, Clone)]
pub struct CampaignEvents {
    /// The user (index) who owns it.
    pub owner: usize,
    /// Every derived event but `phase_progress`: each subscriber of the owner must get them.
    pub required: BTreeSet<EventKey>,
    /// The derived `phase_progress` events: the publisher pushes those its throttle lets through.
    pub progress: BTreeSet<EventKey>,
}

/// One received event: its identity and its delivery latency.
#[derive(Debug, Clone)]
pub struct Got {
    pub key: EventKey,
    pub latency_ms: Option<f64>,
}

/// What one subscriber received, by campaign (this phase's campaigns only).
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub user: usize,
    pub bad: bool,
    pub by_campaign: HashMap<String, Vec<Got>>,
}

/// The judgement of one phase.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseVerdict {
    pub subscribers_judged: usize,
    pub campaigns: usize,
    /// Σ over the judged subscribers of the events each had to get (its user's required events
    /// and the progress events its user's subscribers got).
    pub events_expected: usize,
    /// Σ of the distinct events they got.
    pub events_received: usize,
    pub missing: Findings,
    pub unexpected: Findings,
    pub duplicates: Findings,
    pub progress_disagreements: Findings,
    /// Every delivery (first receipt of each event by each judged subscriber).
    pub latency_ms: Value,
    /// The same, for the judged subscribers of the bad connection's user, and of the others.
    pub same_user_latency_ms: Value,
    pub other_users_latency_ms: Value,
}

impl PhaseVerdict {
    pub fn p95(&self) -> Option<f64> {
        self.latency_ms["p95"].as_f64()
    }

    /// What failed, each with a few examples.
    pub fn failures(&self, phase: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |what: &str, f: &Findings| {
            if f.count > 0 {
                out.push(format!(
                    "{phase}: {} {what} (e.g. {})",
                    f.count,
                    f.examples.first().cloned().unwrap_or_default()
                ));
            }
        };
        check("events missing at a subscriber", &self.missing);
        check(
            "events a subscriber got that the stream did not produce",
            &self.unexpected,
        );
        check(
            "progress events some subscribers of a user got and others did not",
            &self.progress_disagreements,
        );
        if self.campaigns == 0 {
            out.push(format!("{phase}: no campaign to judge"));
        }
        if self.p95().is_none() {
            out.push(format!("{phase}: no delivery to measure"));
        }
        out
    }
}

fn key_text(campaign: &str, k: &EventKey) -> String {
    let phase = if k.2.is_empty() {
        String::new()
    } else {
        format!(" {}", k.2)
    };
    format!("{campaign} v{} {}{phase}", k.0, k.1)
}

/// Judges the subscribers (all of them, or all but the bad one when `skip_bad`) against the
/// stream's events of this phase's campaigns; `bad_user` is the bad connection's user.
pub fn judge(
    expected: &HashMap<String, CampaignEvents>,
    subs: &[Received],
    skip_bad: bool,
    bad_user: usize,
) -> PhaseVerdict {
    let judged: Vec<&Received> = subs.iter().filter(|s| !(skip_bad && s.bad)).collect();
    let mut v = PhaseVerdict {
        subscribers_judged: judged.len(),
        campaigns: expected.len(),
        ..Default::default()
    };
    let distinct =
        |got: &[Got]| -> BTreeSet<EventKey> { got.iter().map(|g| g.key.clone()).collect() };
    // The progress events each user's judged subscribers got, per campaign.
    let mut progress_seen: HashMap<&str, BTreeSet<EventKey>> = HashMap::new();
    for s in &judged {
        for (id, got) in &s.by_campaign {
            if let Some(c) = expected.get(id)
                && c.owner == s.user
            {
                progress_seen.entry(id.as_str()).or_default().extend(
                    got.iter()
                        .filter(|g| c.progress.contains(&g.key))
                        .map(|g| g.key.clone()),
                );
            }
        }
    }
    let (mut all, mut same, mut others) = (Vec::new(), Vec::new(), Vec::new());
    let empty = Vec::new();
    for s in &judged {
        for (id, c) in expected.iter().filter(|(_, c)| c.owner == s.user) {
            let got = s.by_campaign.get(id).unwrap_or(&empty);
            let keys = distinct(got);
            let progress = progress_seen.get(id.as_str()).cloned().unwrap_or_default();
            v.events_expected += c.required.len() + progress.len();
            v.events_received += keys.len();
            for k in c.required.difference(&keys) {
                v.missing.add(key_text(id, k));
            }
            for k in progress.difference(&keys) {
                v.progress_disagreements.add(key_text(id, k));
            }
            for k in keys
                .iter()
                .filter(|k| !c.required.contains(*k) && !c.progress.contains(*k))
            {
                v.unexpected.add(key_text(id, k));
            }
            let mut first: BTreeSet<&EventKey> = BTreeSet::new();
            for g in got {
                if !first.insert(&g.key) {
                    v.duplicates.add(key_text(id, &g.key));
                    continue;
                }
                if let Some(ms) = g.latency_ms {
                    all.push(ms);
                    if s.user == bad_user {
                        same.push(ms);
                    } else {
                        others.push(ms);
                    }
                }
            }
        }
        // Events of campaigns of other users (a publisher that leaks across owners).
        for (id, got) in &s.by_campaign {
            if expected.get(id).is_some_and(|c| c.owner != s.user) {
                for g in got {
                    v.unexpected.add(format!(
                        "{} (another user's campaign)",
                        key_text(id, &g.key)
                    ));
                }
            }
        }
    }
    v.latency_ms = percentiles(all);
    v.same_user_latency_ms = percentiles(same);
    v.other_users_latency_ms = percentiles(others);
    v
}

/// The fault phase's p95 over the baseline's, when both phases have one.
pub fn p95_ratio(baseline: Option<f64>, fault: Option<f64>) -> Option<f64> {
    Some(fault? / baseline?.max(1.0))
}

/// The fault phase's p95 against the baseline's: `Ok(ratio)` within [`P95_LIMIT`].
pub fn compare_p95(baseline: Option<f64>, fault: Option<f64>) -> Result<f64, String> {
    let (Some(b), Some(f), Some(ratio)) = (baseline, fault, p95_ratio(baseline, fault)) else {
        return Err("a phase has no delivery latency to compare".into());
    };
    if ratio <= P95_LIMIT {
        Ok(ratio)
    } else {
        Err(format!(
            "p95 delivery latency with the bad connection {f:.1} ms is {ratio:.2}× the baseline's {b:.1} ms (limit {P95_LIMIT}×)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(version: u64, kind: &str, phase: &str) -> EventKey {
        (version, kind.into(), phase.into())
    }

    fn got(keys: &[EventKey], ms: f64) -> Vec<Got> {
        keys.iter()
            .map(|k| Got {
                key: k.clone(),
                latency_ms: Some(ms),
            })
            .collect()
    }

    /// Two users; user 0 has the bad connection. Campaign `a` is user 0's, `b` user 1's.
    fn world() -> (
        HashMap<String, CampaignEvents>,
        Vec<EventKey>,
        Vec<EventKey>,
    ) {
        let a = vec![
            k(1, "campaign_created", ""),
            k(1, "auto_start_queued", "discovery"),
            k(2, "phase_auto_started", "discovery"),
            k(4, "phase_completed", "discovery"),
        ];
        let b = vec![
            k(1, "campaign_created", ""),
            k(3, "phase_completed", "discovery"),
        ];
        let expected = HashMap::from([
            (
                "a".to_string(),
                CampaignEvents {
                    owner: 0,
                    required: a.iter().cloned().collect(),
                    progress: [k(3, "phase_progress", "discovery")].into(),
                },
            ),
            (
                "b".to_string(),
                CampaignEvents {
                    owner: 1,
                    required: b.iter().cloned().collect(),
                    progress: [k(2, "phase_progress", "discovery")].into(),
                },
            ),
        ]);
        (expected, a, b)
    }

    fn sub(user: usize, bad: bool, campaign: &str, keys: &[EventKey], ms: f64) -> Received {
        Received {
            user,
            bad,
            by_campaign: HashMap::from([(campaign.to_string(), got(keys, ms))]),
        }
    }

    #[test]
    fn everyone_got_everything() {
        let (expected, a, b) = world();
        let subs = vec![
            sub(0, false, "a", &a, 10.0),
            sub(0, true, "a", &[], 0.0),
            sub(1, false, "b", &b, 20.0),
        ];
        let v = judge(&expected, &subs, true, 0);
        assert!(v.failures("fault").is_empty(), "{:?}", v.failures("fault"));
        assert_eq!(
            (v.subscribers_judged, v.events_expected, v.events_received),
            (2, 6, 6)
        );
        assert_eq!(v.same_user_latency_ms["n"], 4);
        assert_eq!(v.other_users_latency_ms["p95"], 20.0);
        // The bad connection got nothing: judged, that is 4 missing events.
        let v = judge(&expected, &subs, false, 0);
        assert_eq!(v.missing.count, 4);
        assert_eq!(v.failures("baseline").len(), 1);
    }

    #[test]
    fn a_missing_or_foreign_event_fails_a_repeat_is_counted() {
        let (expected, a, b) = world();
        let subs = vec![
            sub(0, false, "a", &a[..3], 10.0),
            sub(1, false, "b", &b, 10.0),
        ];
        let v = judge(&expected, &subs, true, 0);
        assert_eq!(v.missing.count, 1);
        assert!(v.missing.examples[0].contains("v4 phase_completed discovery"));

        let mut twice = a.clone();
        twice.push(a[2].clone());
        let v = judge(&expected, &[sub(0, false, "a", &twice, 5.0)], true, 0);
        assert_eq!((v.duplicates.count, v.missing.count), (1, 0));
        assert_eq!(v.latency_ms["n"], 4, "a repeat is not a delivery");
        assert!(
            v.failures("x").is_empty(),
            "at least once: a repeat is allowed"
        );

        let mut made_up = a.clone();
        made_up.push(k(9, "phase_failed", "discovery"));
        let v = judge(&expected, &[sub(0, false, "a", &made_up, 5.0)], true, 0);
        assert_eq!(v.unexpected.count, 1);

        let v = judge(&expected, &[sub(0, false, "b", &b, 5.0)], true, 0);
        assert!(v.unexpected.count > 0, "user 0 got user 1's events");
        assert!(!v.failures("x").is_empty());
    }

    #[test]
    fn progress_must_be_the_same_for_every_subscriber_of_a_user() {
        let (expected, a, _) = world();
        let mut with_progress = a.clone();
        with_progress.push(k(3, "phase_progress", "discovery"));
        let same = [
            sub(0, false, "a", &with_progress, 5.0),
            sub(0, false, "a", &with_progress, 5.0),
        ];
        assert!(judge(&expected, &same, true, 0).failures("x").is_empty());
        let differ = [
            sub(0, false, "a", &with_progress, 5.0),
            sub(0, false, "a", &a, 5.0),
        ];
        let v = judge(&expected, &differ, true, 0);
        assert_eq!(v.progress_disagreements.count, 1);
        assert_eq!(v.failures("x").len(), 1);
    }

    #[test]
    fn the_latency_limit_is_twice_the_baseline() {
        assert_eq!(compare_p95(Some(100.0), Some(150.0)), Ok(1.5));
        assert!(compare_p95(Some(100.0), Some(200.0)).is_ok());
        let e = compare_p95(Some(100.0), Some(201.0)).unwrap_err();
        assert!(e.contains("2.01×"), "{e}");
        assert!(compare_p95(None, Some(1.0)).is_err());
        assert!(compare_p95(Some(1.0), None).is_err());
    }

    #[test]
    fn nothing_to_judge_fails() {
        let v = judge(&HashMap::new(), &[], true, 0);
        assert_eq!(v.failures("x").len(), 2);
    }
}
