//! Tests of the discovery config and generator.

use super::config::*;
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
