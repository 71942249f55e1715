//! Discovery configuration: validation with field-level problems, the size of the pattern space,
//! and the deterministic domain generator.
//!
//! A domain is `label + tld`. The label is built from `constantString` and a variable part of
//! `variableLength` characters: `var + constant` (prefix), `constant + var` (suffix) or
//! `var + constant + var` (both, two independent variable parts). A DNS label may not start or end
//! with `-`, so a variable position that lands on the first or last character of the label uses
//! the character set without `-`. Every variable position is therefore a digit of a mixed-radix
//! number; domain number `i` is `(i / tlds)` in that radix, with TLD `i % tlds`. The order is
//! deterministic and every index maps to a distinct domain.

use serde::{Deserialize, Serialize};

use crate::error::FieldProblem;

pub const MAX_NUM_DOMAINS: u64 = 1_000_000;
pub const MAX_VARIABLE_LENGTH: u32 = 12;
pub const MAX_LABEL_LEN: usize = 63;
pub const MAX_DOMAIN_LEN: usize = 253;
pub const MAX_TLDS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternType {
    Prefix,
    Suffix,
    Both,
}

/// A validated discovery configuration, as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryInput {
    pub pattern_type: Option<PatternType>,
    pub constant_string: Option<String>,
    pub variable_length: Option<i64>,
    pub character_set: Option<String>,
    pub tlds: Option<Vec<String>>,
    pub num_domains: Option<i64>,
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label.chars().all(is_label_char)
        && !label.starts_with('-')
        && !label.ends_with('-')
}

fn distinct_chars(set: &str) -> Vec<char> {
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

/// The alphabet of every variable position, in label order, with the index of the position in
/// the label it fills.
struct Layout {
    /// Characters before the constant (prefix/both) or empty.
    head: Vec<Vec<char>>,
    /// Characters after the constant (suffix/both) or empty.
    tail: Vec<Vec<char>>,
}

impl DiscoveryConfig {
    fn layout(&self) -> Layout {
        let all = distinct_chars(&self.character_set);
        let no_dash: Vec<char> = all.iter().copied().filter(|&c| c != '-').collect();
        let n = self.variable_length as usize;
        let constant_empty = self.constant_string.is_empty();
        let make = |first_is_edge: bool, last_is_edge: bool| -> Vec<Vec<char>> {
            (0..n)
                .map(|i| {
                    if (i == 0 && first_is_edge) || (i == n - 1 && last_is_edge) {
                        no_dash.clone()
                    } else {
                        all.clone()
                    }
                })
                .collect()
        };
        match self.pattern_type {
            PatternType::Prefix => Layout {
                head: make(true, constant_empty),
                tail: Vec::new(),
            },
            PatternType::Suffix => Layout {
                head: Vec::new(),
                tail: make(constant_empty, true),
            },
            PatternType::Both => Layout {
                head: make(true, false),
                tail: make(false, true),
            },
        }
    }

    /// How many distinct domains the pattern can produce (saturating at `u128::MAX`).
    pub fn space_size(&self) -> u128 {
        let layout = self.layout();
        layout
            .head
            .iter()
            .chain(layout.tail.iter())
            .fold(self.tlds.len() as u128, |acc, alphabet| {
                acc.saturating_mul(alphabet.len() as u128)
            })
    }

    /// A generator for the domains of this config, in their fixed order.
    pub fn generator(&self) -> DomainGenerator {
        let layout = self.layout();
        let head_len = layout.head.len();
        DomainGenerator {
            alphabets: layout.head.into_iter().chain(layout.tail).collect(),
            head_len,
            constant: self.constant_string.clone(),
            tlds: self.tlds.clone(),
        }
    }
}

/// Maps a domain index to its domain. Pure and deterministic: the same config and index give the
/// same domain on every machine, which is what makes chunk retries idempotent.
pub struct DomainGenerator {
    /// The alphabet of every variable position in label order; the first `head_len` come before
    /// the constant.
    alphabets: Vec<Vec<char>>,
    head_len: usize,
    constant: String,
    tlds: Vec<String>,
}

impl DomainGenerator {
    /// The domain number `index` (`0 ≤ index < space_size`).
    pub fn domain(&self, index: u64) -> String {
        let tld_count = self.tlds.len() as u64;
        let tld = &self.tlds[(index % tld_count) as usize];
        let mut rest = u128::from(index / tld_count);
        // The last variable position is the least significant digit.
        let positions = self.alphabets.len();
        let mut digits = vec![' '; positions];
        for (slot, alphabet) in self.alphabets.iter().enumerate().rev() {
            let radix = alphabet.len() as u128;
            digits[slot] = alphabet[(rest % radix) as usize];
            rest /= radix;
        }
        let mut out = String::with_capacity(positions + self.constant.len() + tld.len());
        out.extend(&digits[..self.head_len]);
        out.push_str(&self.constant);
        out.extend(&digits[self.head_len..]);
        out.push_str(tld);
        out
    }

    /// Domains `start..end` in order.
    pub fn range(&self, start: u64, end: u64) -> Vec<String> {
        (start..end).map(|i| self.domain(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn config(
        pattern_type: PatternType,
        constant: &str,
        len: u32,
        charset: &str,
        tlds: &[&str],
        n: u64,
    ) -> DiscoveryConfig {
        DiscoveryConfig {
            pattern_type,
            constant_string: constant.into(),
            variable_length: len,
            character_set: charset.into(),
            tlds: tlds.iter().map(|s| s.to_string()).collect(),
            num_domains: n,
        }
    }

    fn valid_input() -> DiscoveryInput {
        DiscoveryInput {
            pattern_type: Some(PatternType::Prefix),
            constant_string: Some("shop".into()),
            variable_length: Some(3),
            character_set: Some("abcdefghijklmnopqrstuvwxyz0123456789".into()),
            tlds: Some(vec![".com".into(), ".net".into()]),
            num_domains: Some(1000),
        }
    }

    #[test]
    fn space_size_of_the_api_example() {
        let c = valid_input().validate("d").unwrap();
        assert_eq!(c.space_size(), 36u128.pow(3) * 2);
    }

    #[test]
    fn space_size_excludes_dash_at_label_edges() {
        // prefix, constant "shop": only position 0 is an edge → 2 * 3 (with '-') * 1 tld
        assert_eq!(
            config(PatternType::Prefix, "shop", 2, "ab-", &[".com"], 1).space_size(),
            2 * 3
        );
        // suffix with empty constant: both ends are edges
        assert_eq!(
            config(PatternType::Suffix, "", 3, "ab-", &[".com"], 1).space_size(),
            2 * 3 * 2
        );
        // both: var1[0] and var2[last] are edges
        assert_eq!(
            config(PatternType::Both, "x", 2, "a-", &[".com", ".io"], 1).space_size(),
            2 * 2 * 2 /* tlds × var1 (first char no '-') × var2 (last char no '-') */
        );
        // duplicates in the character set count once
        assert_eq!(
            config(PatternType::Prefix, "shop", 1, "aab", &[".com"], 1).space_size(),
            2
        );
        // huge spaces saturate instead of overflowing
        let big = config(
            PatternType::Both,
            "",
            12,
            "abcdefghijklmnopqrstuvwxyz0123456789-",
            &[".com"],
            1,
        );
        assert!(big.space_size() > u128::from(u64::MAX));
    }

    #[test]
    fn generation_is_deterministic_and_ordered() {
        let c = config(PatternType::Prefix, "shop", 2, "ab", &[".com", ".net"], 8);
        let g = c.generator();
        assert_eq!(
            g.range(0, 8),
            vec![
                "aashop.com",
                "aashop.net",
                "abshop.com",
                "abshop.net",
                "bashop.com",
                "bashop.net",
                "bbshop.com",
                "bbshop.net"
            ]
        );
        let s = config(PatternType::Suffix, "shop", 1, "xy", &[".io"], 2).generator();
        assert_eq!(s.range(0, 2), vec!["shopx.io", "shopy.io"]);
        let b = config(PatternType::Both, "-", 1, "ab", &[".io"], 4).generator();
        assert_eq!(b.range(0, 4), vec!["a-a.io", "a-b.io", "b-a.io", "b-b.io"]);
    }

    #[test]
    fn every_problem_is_listed() {
        let input = DiscoveryInput {
            pattern_type: None,
            constant_string: Some("Shop!".into()),
            variable_length: Some(0),
            character_set: Some("a".into()),
            tlds: Some(vec!["com".into(), ".net".into(), ".net".into()]),
            num_domains: Some(0),
        };
        let problems = input.validate("config.discovery").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for expected in [
            "config.discovery.patternType",
            "config.discovery.constantString",
            "config.discovery.variableLength",
            "config.discovery.characterSet",
            "config.discovery.tlds[0]",
            "config.discovery.tlds[2]",
            "config.discovery.numDomains",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn num_domains_above_the_space_is_rejected() {
        let mut input = valid_input();
        input.variable_length = Some(1);
        input.num_domains = Some(73); // 36 * 2 = 72
        let problems = input.validate("d").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "d.numDomains");
        input.num_domains = Some(72);
        assert!(input.validate("d").is_ok());
    }

    #[test]
    fn label_edges_and_length_are_checked() {
        let mut input = valid_input();
        input.constant_string = Some("shop-".into());
        assert_eq!(
            input.validate("d").unwrap_err()[0].field,
            "d.constantString"
        );
        input.pattern_type = Some(PatternType::Suffix);
        assert!(input.validate("d").is_ok(), "shop-abc is a valid label");
        input.variable_length = Some(12);
        input.constant_string = Some("a".repeat(52));
        assert_eq!(
            input.validate("d").unwrap_err()[0].field,
            "d.variableLength"
        );
    }

    fn arb_config() -> impl Strategy<Value = DiscoveryConfig> {
        (
            prop_oneof![
                Just(PatternType::Prefix),
                Just(PatternType::Suffix),
                Just(PatternType::Both)
            ],
            "[a-z0-9-]{0,6}",
            1u32..4,
            "[a-z0-9-]{2,6}",
            proptest::collection::hash_set("\\.[a-z]{2,4}", 1..4),
        )
            .prop_map(|(p, c, l, cs, tlds)| DiscoveryConfig {
                pattern_type: p,
                constant_string: c,
                variable_length: l,
                character_set: cs,
                tlds: tlds.into_iter().collect(),
                num_domains: 1,
            })
            .prop_filter("valid configs only", |c| {
                DiscoveryInput::from(c).validate("d").is_ok()
            })
    }

    proptest! {
        #[test]
        fn generated_domains_are_distinct_valid_and_fill_the_space(c in arb_config()) {
            let space = c.space_size();
            prop_assume!(space <= 5_000);
            let domains = c.generator().range(0, space as u64);
            let unique: HashSet<&String> = domains.iter().collect();
            prop_assert_eq!(unique.len(), domains.len());
            for d in &domains {
                let (label, _) = d.split_once('.').unwrap();
                prop_assert!(valid_label(label), "{} is not a valid label", d);
                prop_assert!(c.tlds.iter().any(|t| d.ends_with(t.as_str())));
            }
        }
    }
}
