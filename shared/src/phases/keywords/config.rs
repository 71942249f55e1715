//! Keywords configuration (`config.keywords`, API.md): the terms to look for, the paths to fetch
//! on every domain, and whether `any` or `all` terms make a domain `matched`.
//!
//! Invariants of a validated [`KeywordsConfig`]:
//! - 1–50 terms of 1–64 characters, each with at least one letter or digit, no leading or
//!   trailing whitespace, no control characters, and distinct as the scan compares them
//!   (case-insensitively, whitespace runs as one space: `Sale` and `sale` are duplicates);
//! - 1–5 distinct absolute paths (default `["/"]`): `/` then URL path characters, optionally a
//!   `?query`, no fragment, not `//…` (which a URL parser reads as a host), at most
//!   [`MAX_PATH_CHARS`] characters;
//! - `match` is `any` (default) or `all`.
use serde::{Deserialize, Serialize};

use super::scan::normalize;
use crate::error::FieldProblem;

pub const MAX_TERMS: usize = 50;
pub const MAX_TERM_CHARS: usize = 64;
pub const MAX_PATHS: usize = 5;
/// Not in the contract: a bound so that a path stays a reasonable request line.
pub const MAX_PATH_CHARS: usize = 1024;

/// How the terms decide `matched`: at least one term found (`any`), or every term (`all`),
/// counted over every configured path of a domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    #[default]
    Any,
    All,
}

/// A validated keywords configuration, as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeywordsConfig {
    pub terms: Vec<String>,
    pub paths: Vec<String>,
    #[serde(rename = "match")]
    pub match_mode: MatchMode,
}

/// The keywords part of a request body: every field optional so that a missing one is reported
/// as a 422 field problem together with every other problem, not as a 400.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "What the `keywords` phase looks for: `terms` matched case-insensitively as whole words in each page's visible text and title, on every path of `paths`; `match` `any` (one term found) or `all` (every term) makes a domain `matched`. Optional until the `keywords` phase starts. Unacceptable values (a missing or duplicate term, a term without a letter or digit, a path not starting with `/`) are answered 422 `INVALID_CONFIG` listing every problem; wrong JSON types are 400."
)]
pub struct KeywordsInput {
    /// Distinct (case-insensitively) terms of 1–64 characters.
    #[schema(required = true, nullable = false, min_items = 1, max_items = 50)]
    pub terms: Option<Vec<String>>,
    /// Absolute paths (`/`, `/about?x=1`), fetched in order.
    #[schema(nullable = false, min_items = 1, max_items = 5, default = json!(["/"]))]
    pub paths: Option<Vec<String>>,
    #[serde(rename = "match")]
    #[schema(nullable = false, default = "any")]
    pub match_mode: Option<MatchMode>,
}

/// Why a term is unacceptable, or `None`.
fn term_problem(term: &str) -> Option<String> {
    let chars = term.chars().count();
    if chars == 0 || chars > MAX_TERM_CHARS {
        return Some(format!("must be 1 to {MAX_TERM_CHARS} characters"));
    }
    if term.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    if term.trim() != term {
        return Some("must not start or end with whitespace".into());
    }
    if !term.chars().any(char::is_alphanumeric) {
        return Some("needs at least one letter or digit (terms match whole words)".into());
    }
    None
}

/// Why a path is unacceptable, or `None`.
fn path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("must be an absolute path starting with '/'");
    }
    if path.starts_with("//") {
        return Some("must not start with '//' (that names a host, not a path)");
    }
    if path.chars().count() > MAX_PATH_CHARS {
        return Some("is longer than 1024 characters");
    }
    if path.contains('#') {
        return Some("must not contain a fragment ('#')");
    }
    if path
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return Some("may contain only printable ASCII without spaces (percent-encode the rest)");
    }
    if path.parse::<http::uri::PathAndQuery>().is_err() {
        return Some("is not a valid URL path");
    }
    None
}

impl KeywordsInput {
    /// Validates every field and returns the config, or every problem found (field paths under
    /// `prefix`, e.g. `config.keywords`).
    pub fn validate(&self, prefix: &str) -> Result<KeywordsConfig, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let terms = match &self.terms {
            None => {
                problems.push(FieldProblem::new(format!("{prefix}.terms"), "is required"));
                None
            }
            Some(list) if list.is_empty() || list.len() > MAX_TERMS => {
                problems.push(FieldProblem::new(
                    format!("{prefix}.terms"),
                    format!("needs 1 to {MAX_TERMS} terms"),
                ));
                None
            }
            Some(list) => {
                let before = problems.len();
                let normalized: Vec<String> = list.iter().map(|t| normalize(t)).collect();
                for (i, term) in list.iter().enumerate() {
                    let field = format!("{prefix}.terms[{i}]");
                    if let Some(why) = term_problem(term) {
                        problems.push(FieldProblem::new(field, why));
                    } else if let Some(first) =
                        normalized[..i].iter().position(|n| *n == normalized[i])
                    {
                        problems.push(FieldProblem::new(
                            field,
                            format!(
                                "is a duplicate of terms[{first}] (terms match case-insensitively)"
                            ),
                        ));
                    }
                }
                (problems.len() == before).then(|| list.clone())
            }
        };
        let paths = match &self.paths {
            None => Some(vec!["/".to_string()]),
            Some(list) if list.is_empty() || list.len() > MAX_PATHS => {
                problems.push(FieldProblem::new(
                    format!("{prefix}.paths"),
                    format!("needs 1 to {MAX_PATHS} paths"),
                ));
                None
            }
            Some(list) => {
                let before = problems.len();
                for (i, path) in list.iter().enumerate() {
                    let field = format!("{prefix}.paths[{i}]");
                    if let Some(why) = path_problem(path) {
                        problems.push(FieldProblem::new(field, why));
                    } else if list[..i].contains(path) {
                        problems.push(FieldProblem::new(field, "is a duplicate"));
                    }
                }
                (problems.len() == before).then(|| list.clone())
            }
        };
        match (problems.is_empty(), terms, paths) {
            (true, Some(terms), Some(paths)) => Ok(KeywordsConfig {
                terms,
                paths,
                match_mode: self.match_mode.unwrap_or_default(),
            }),
            _ => Err(problems),
        }
    }
}

impl From<&KeywordsConfig> for KeywordsInput {
    fn from(c: &KeywordsConfig) -> Self {
        Self {
            terms: Some(c.terms.clone()),
            paths: Some(c.paths.clone()),
            match_mode: Some(c.match_mode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> KeywordsInput {
        serde_json::from_value(v).unwrap()
    }

    fn fields(v: serde_json::Value) -> Vec<String> {
        input(v)
            .validate("config.keywords")
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect()
    }

    #[test]
    fn defaults_and_round_trip() {
        let c = input(json!({"terms": ["running shoes", "sale"]}))
            .validate("config.keywords")
            .unwrap();
        assert_eq!(c.paths, ["/"]);
        assert_eq!(c.match_mode, MatchMode::Any);
        let stored = serde_json::to_value(&c).unwrap();
        assert_eq!(
            stored,
            json!({"terms": ["running shoes", "sale"], "paths": ["/"], "match": "any"})
        );
        let back: KeywordsConfig = serde_json::from_value(stored).unwrap();
        assert_eq!(
            KeywordsInput::from(&back).validate("x").unwrap(),
            c,
            "a stored config validates to itself"
        );
        let all = input(json!({"terms": ["a"], "paths": ["/", "/about?x=1"], "match": "all"}))
            .validate("k")
            .unwrap();
        assert_eq!(all.match_mode, MatchMode::All);
        assert!(serde_json::from_value::<KeywordsInput>(json!({"match": "some"})).is_err());
    }

    #[test]
    fn every_term_problem_is_named_by_index() {
        let long = "x".repeat(65);
        let max = "é".repeat(64);
        assert_eq!(
            fields(
                json!({"terms": ["ok", "", long, " lead", "--", "OK", "tab\there", max, "a  b", "A B"]})
            ),
            [
                "config.keywords.terms[1]",
                "config.keywords.terms[2]",
                "config.keywords.terms[3]",
                "config.keywords.terms[4]",
                "config.keywords.terms[5]",
                "config.keywords.terms[6]",
                "config.keywords.terms[9]",
            ]
        );
        let problems = input(json!({"terms": ["Sale", "sale"]}))
            .validate("p")
            .unwrap_err();
        assert!(problems[0].problem.contains("terms[0]"), "{problems:?}");
        assert_eq!(fields(json!({})), ["config.keywords.terms"]);
        assert_eq!(fields(json!({"terms": []})), ["config.keywords.terms"]);
        let fifty: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
        assert!(input(json!({ "terms": fifty })).validate("p").is_ok());
        let fifty_one: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert_eq!(
            fields(json!({ "terms": fifty_one })),
            ["config.keywords.terms"]
        );
    }

    #[test]
    fn every_path_problem_is_named_by_index() {
        let long = format!("/{}", "a".repeat(1024));
        assert_eq!(
            fields(
                json!({"terms": ["a"], "paths": ["/", "about", "//evil.example/", "/a b", "/x#y"]})
            ),
            [
                "config.keywords.paths[1]",
                "config.keywords.paths[2]",
                "config.keywords.paths[3]",
                "config.keywords.paths[4]",
            ]
        );
        assert_eq!(
            fields(
                json!({"terms": ["a"], "paths": ["/", "/", long, "/\u{fc}", "/ok/path?q=1&r=%20"]})
            ),
            [
                "config.keywords.paths[1]",
                "config.keywords.paths[2]",
                "config.keywords.paths[3]",
            ]
        );
        assert_eq!(
            fields(json!({"terms": ["a"], "paths": []})),
            ["config.keywords.paths"]
        );
        assert_eq!(
            fields(json!({"terms": ["a"], "paths": ["/1", "/2", "/3", "/4", "/5", "/6"]})),
            ["config.keywords.paths"]
        );
        // Problems of both fields come together.
        assert_eq!(
            fields(json!({"terms": [""], "paths": ["x"]})),
            ["config.keywords.terms[0]", "config.keywords.paths[0]"]
        );
    }
}
