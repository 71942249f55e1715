//! Discovery configuration (`config.discovery`): the request shape, validation with field-level
//! problems, and the size of the pattern space.
//!
//! A domain is `label + tld`. The label is built from `constantString` and a variable part of
//! `variableLength` characters: `var + constant` (prefix), `constant + var` (suffix) or
//! `var + constant + var` (both, two independent variable parts).
use serde::{Deserialize, Serialize};

use crate::error::FieldProblem;

pub const MAX_NUM_DOMAINS: u64 = 1_000_000;
pub const MAX_VARIABLE_LENGTH: u32 = 12;
pub const MAX_LABEL_LEN: usize = 63;
pub const MAX_DOMAIN_LEN: usize = 253;
pub const MAX_TLDS: usize = 50;
/// a-z, 0-9 and '-', each at most once (API.md "Limits").
pub const MAX_CHARACTER_SET: usize = 37;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PatternType {
    Prefix,
    Suffix,
    Both,
}

/// A validated discovery configuration, as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryConfig {
    pub pattern_type: PatternType,
    pub constant_string: String,
    pub variable_length: u32,
    pub character_set: String,
    pub tlds: Vec<String>,
    pub num_domains: u64,
}

/// The discovery part of a request body: every field optional so that a missing one is reported
/// as a 422 field problem together with every other problem, not as a 400.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(
    description = "`numDomains` distinct domains: `constantString` plus a variable part of `variableLength` characters from `characterSet` (before it for `prefix`, after it for `suffix`, both sides for `both`), for each TLD. Unacceptable values (a missing field, a label over 63 characters or starting/ending with `-`, more domains than the pattern can produce, a duplicate TLD, a domain over 253 characters) are answered 422 `INVALID_CONFIG` listing every problem; wrong JSON types or an unknown `patternType` are 400."
)]
pub struct DiscoveryInput {
    #[schema(required = true, nullable = false)]
    pub pattern_type: Option<PatternType>,
    #[schema(
        nullable = false,
        pattern = "^[a-z0-9-]*$",
        max_length = 62,
        default = ""
    )]
    pub constant_string: Option<String>,
    #[schema(required = true, nullable = false, minimum = 1, maximum = 12)]
    pub variable_length: Option<i64>,
    /// At least 2 distinct characters of `[a-z0-9-]`, each at most once; `-` is never used at a
    /// label edge.
    #[schema(
        required = true,
        nullable = false,
        pattern = "^[a-z0-9-]+$",
        min_length = 2,
        max_length = 37
    )]
    pub character_set: Option<String>,
    /// Distinct, e.g. `.com`, `.co.uk`.
    #[schema(required = true, nullable = false, min_items = 1, max_items = 50)]
    pub tlds: Option<Vec<String>>,
    /// No more than the pattern can produce.
    #[schema(required = true, nullable = false, minimum = 1, maximum = 1000000)]
    pub num_domains: Option<i64>,
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

pub(super) fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label.chars().all(is_label_char)
        && !label.starts_with('-')
        && !label.ends_with('-')
}

pub(super) fn distinct_chars(set: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(set.len());
    for c in set.chars() {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

impl DiscoveryInput {
    /// Validates every field and returns the config, or every problem found (field paths under
    /// `prefix`, e.g. `config.discovery`).
    pub fn validate(&self, prefix: &str) -> Result<DiscoveryConfig, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let field = |name: &str| format!("{prefix}.{name}");
        let required = |problems: &mut Vec<FieldProblem>, name: &str| {
            problems.push(FieldProblem::new(field(name), "is required"));
        };

        let pattern_type = self.pattern_type;
        if pattern_type.is_none() {
            required(&mut problems, "patternType");
        }

        let constant = self.constant_string.clone().unwrap_or_default();
        if constant.chars().any(|c| !is_label_char(c)) {
            problems.push(FieldProblem::new(
                field("constantString"),
                "may contain only a-z, 0-9 and '-'",
            ));
        }

        let variable_length = match self.variable_length {
            None => {
                required(&mut problems, "variableLength");
                None
            }
            Some(n) if !(1..=MAX_VARIABLE_LENGTH as i64).contains(&n) => {
                problems.push(FieldProblem::new(
                    field("variableLength"),
                    format!("must be between 1 and {MAX_VARIABLE_LENGTH}"),
                ));
                None
            }
            Some(n) => Some(n as u32),
        };

        let charset = match &self.character_set {
            None => {
                required(&mut problems, "characterSet");
                None
            }
            Some(s) if s.chars().any(|c| !is_label_char(c)) => {
                problems.push(FieldProblem::new(
                    field("characterSet"),
                    "may contain only a-z, 0-9 and '-'",
                ));
                None
            }
            Some(s) if s.chars().count() > MAX_CHARACTER_SET => {
                problems.push(FieldProblem::new(
                    field("characterSet"),
                    format!("at most {MAX_CHARACTER_SET} characters (a-z, 0-9 and '-', each once)"),
                ));
                None
            }
            Some(s) if distinct_chars(s).len() != s.chars().count() => {
                problems.push(FieldProblem::new(
                    field("characterSet"),
                    "lists a character more than once",
                ));
                None
            }
            Some(s) if distinct_chars(s).len() < 2 => {
                problems.push(FieldProblem::new(
                    field("characterSet"),
                    "needs at least 2 distinct characters",
                ));
                None
            }
            Some(s) if !s.chars().any(|c| c != '-') => None,
            Some(s) => Some(s.clone()),
        };

        let tlds = match &self.tlds {
            None => {
                required(&mut problems, "tlds");
                None
            }
            Some(list) if list.is_empty() => {
                problems.push(FieldProblem::new(field("tlds"), "needs at least one TLD"));
                None
            }
            Some(list) if list.len() > MAX_TLDS => {
                problems.push(FieldProblem::new(
                    field("tlds"),
                    format!("at most {MAX_TLDS} TLDs"),
                ));
                None
            }
            Some(list) => {
                let mut ok = true;
                for (i, tld) in list.iter().enumerate() {
                    let labels_ok = tld
                        .strip_prefix('.')
                        .map(|rest| rest.split('.').all(valid_label))
                        .unwrap_or(false);
                    if !labels_ok {
                        ok = false;
                        problems.push(FieldProblem::new(
                            format!("{prefix}.tlds[{i}]"),
                            "must look like \".com\" or \".co.uk\" (lowercase DNS labels after a leading dot)",
                        ));
                    } else if list[..i].contains(tld) {
                        ok = false;
                        problems.push(FieldProblem::new(
                            format!("{prefix}.tlds[{i}]"),
                            "is a duplicate",
                        ));
                    }
                }
                ok.then(|| list.clone())
            }
        };

        let num_domains = match self.num_domains {
            None => {
                required(&mut problems, "numDomains");
                None
            }
            Some(n) if !(1..=MAX_NUM_DOMAINS as i64).contains(&n) => {
                problems.push(FieldProblem::new(
                    field("numDomains"),
                    format!("must be between 1 and {MAX_NUM_DOMAINS}"),
                ));
                None
            }
            Some(n) => Some(n as u64),
        };

        // Checks that need several fields: label shape, length, and the size of the space.
        if let (Some(pattern_type), Some(variable_length), Some(charset)) =
            (pattern_type, variable_length, &charset)
        {
            let label_len = constant.len()
                + variable_length as usize
                    * if pattern_type == PatternType::Both {
                        2
                    } else {
                        1
                    };
            if label_len > MAX_LABEL_LEN {
                problems.push(FieldProblem::new(
                    field("variableLength"),
                    format!("the label would be {label_len} characters; a DNS label has at most {MAX_LABEL_LEN}"),
                ));
            } else if !constant.is_empty() {
                let starts = pattern_type == PatternType::Suffix;
                let ends = pattern_type == PatternType::Prefix;
                if (starts && constant.starts_with('-')) || (ends && constant.ends_with('-')) {
                    problems.push(FieldProblem::new(
                        field("constantString"),
                        "would start or end the DNS label with '-'",
                    ));
                }
            }
            if let Some(tlds) = &tlds {
                let longest = tlds.iter().map(String::len).max().unwrap_or(0);
                if label_len + longest > MAX_DOMAIN_LEN {
                    problems.push(FieldProblem::new(
                        field("tlds"),
                        "the domain would be longer than 253 characters",
                    ));
                }
                if let Some(num_domains) = num_domains {
                    let candidate = DiscoveryConfig {
                        pattern_type,
                        constant_string: constant.clone(),
                        variable_length,
                        character_set: charset.clone(),
                        tlds: tlds.clone(),
                        num_domains,
                    };
                    let space = candidate.space_size();
                    if u128::from(num_domains) > space {
                        problems.push(FieldProblem::new(
                            field("numDomains"),
                            format!("the pattern can produce only {space} distinct domains"),
                        ));
                    }
                }
            }
        }

        match (
            problems.is_empty(),
            pattern_type,
            variable_length,
            charset,
            tlds,
            num_domains,
        ) {
            (
                true,
                Some(pattern_type),
                Some(variable_length),
                Some(character_set),
                Some(tlds),
                Some(num_domains),
            ) => Ok(DiscoveryConfig {
                pattern_type,
                constant_string: constant,
                variable_length,
                character_set,
                tlds,
                num_domains,
            }),
            _ => Err(problems),
        }
    }
}

impl From<&DiscoveryConfig> for DiscoveryInput {
    fn from(c: &DiscoveryConfig) -> Self {
        Self {
            pattern_type: Some(c.pattern_type),
            constant_string: Some(c.constant_string.clone()),
            variable_length: Some(i64::from(c.variable_length)),
            character_set: Some(c.character_set.clone()),
            tlds: Some(c.tlds.clone()),
            num_domains: i64::try_from(c.num_domains).ok(),
        }
    }
}
