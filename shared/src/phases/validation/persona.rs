//! The `config` of a persona of kind `dns` (DECISIONS.md #16): resolvers, time-out, concurrency
//! and rate, checked when the persona is created or patched and again at validation's
//! pre-start. Every resolver must pass the address policy (`crate::net`).

use serde::{Deserialize, Serialize};

use crate::error::FieldProblem;
use crate::net::AddressPolicy;

/// The `config` of a persona of kind `dns`, used by the validation phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DnsPersonaConfig {
    /// `ip:port`, e.g. `127.0.0.1:5353` or `[::1]:53`; public addresses only (or
    /// `ALLOWED_PRIVATE_CIDRS`).
    #[schema(value_type = Vec<String>, min_items = 1, max_items = 8)]
    pub resolvers: Vec<std::net::SocketAddr>,
    #[schema(required = false, default = 2000, minimum = 50, maximum = 10000)]
    pub timeout_ms: u64,
    #[schema(required = false, default = 16, minimum = 1, maximum = 256)]
    pub concurrency: usize,
    #[schema(required = false, default = 200, minimum = 1, maximum = 10000)]
    pub rate_limit_per_second: u32,
}

impl DnsPersonaConfig {
    pub const DEFAULT_TIMEOUT_MS: u64 = 2000;
    pub const DEFAULT_CONCURRENCY: usize = 16;
    pub const DEFAULT_RATE: u32 = 200;

    /// Reads and checks a dns persona's config; problems name fields under `prefix`.
    pub fn parse(
        config: &serde_json::Map<String, serde_json::Value>,
        prefix: &str,
        policy: &AddressPolicy,
    ) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let field = |n: &str| format!("{prefix}.{n}");
        let resolvers: Vec<std::net::SocketAddr> =
            match config.get("resolvers").and_then(|v| v.as_array()) {
                None => {
                    problems.push(FieldProblem::new(
                        field("resolvers"),
                        "is required: a list of \"ip:port\"",
                    ));
                    Vec::new()
                }
                Some(list) if list.is_empty() || list.len() > 8 => {
                    problems.push(FieldProblem::new(
                        field("resolvers"),
                        "needs 1 to 8 resolvers",
                    ));
                    Vec::new()
                }
                Some(list) => list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| match v.as_str().and_then(|s| s.parse().ok()) {
                        Some(addr) => match policy.check(addr) {
                            Ok(()) => Some(addr),
                            Err(blocked) => {
                                problems.push(FieldProblem::new(
                                    format!("{prefix}.resolvers[{i}]"),
                                    format!("is not allowed: {blocked} (only public addresses, or ALLOWED_PRIVATE_CIDRS)"),
                                ));
                                None
                            }
                        },
                        None => {
                            problems.push(FieldProblem::new(
                                format!("{prefix}.resolvers[{i}]"),
                                "must be \"ip:port\"",
                            ));
                            None
                        }
                    })
                    .collect(),
            };
        let mut number = |name: &str, default: u64, min: u64, max: u64| -> u64 {
            match config.get(name) {
                None => default,
                Some(v) => match v.as_u64().filter(|n| (min..=max).contains(n)) {
                    Some(n) => n,
                    None => {
                        problems.push(FieldProblem::new(
                            field(name),
                            format!("must be an integer from {min} to {max}"),
                        ));
                        default
                    }
                },
            }
        };
        let timeout_ms = number("timeoutMs", Self::DEFAULT_TIMEOUT_MS, 50, 10_000);
        let concurrency = number("concurrency", Self::DEFAULT_CONCURRENCY as u64, 1, 256) as usize;
        let rate_limit_per_second = number(
            "rateLimitPerSecond",
            u64::from(Self::DEFAULT_RATE),
            1,
            10_000,
        ) as u32;
        if problems.is_empty() {
            Ok(Self {
                resolvers,
                timeout_ms,
                concurrency,
                rate_limit_per_second,
            })
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> AddressPolicy {
        AddressPolicy::parse("127.0.0.0/8").unwrap()
    }

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn defaults_and_limits() {
        let c = DnsPersonaConfig::parse(
            &map(serde_json::json!({"resolvers": ["127.0.0.1:5353"]})),
            "config",
            &open(),
        )
        .unwrap();
        assert_eq!(c.resolvers[0].port(), 5353);
        assert_eq!(
            (c.timeout_ms, c.concurrency, c.rate_limit_per_second),
            (2000, 16, 200)
        );
        let bad = serde_json::json!({"resolvers": ["nope", "1.1.1.1"], "timeoutMs": 0, "concurrency": 1000});
        let problems = DnsPersonaConfig::parse(&map(bad), "config", &open()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "config.resolvers[0]",
                "config.resolvers[1]",
                "config.timeoutMs",
                "config.concurrency"
            ]
        );
        assert!(DnsPersonaConfig::parse(&map(serde_json::json!({})), "c", &open()).is_err());
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn resolvers_in_blocked_ranges_are_refused_unless_allowed() {
        let config = serde_json::json!({"resolvers": ["127.0.0.1:53", "169.254.169.254:53", "10.0.0.2:53", "1.1.1.1:53"]});
        let map = config.as_object().unwrap();
        let problems =
            DnsPersonaConfig::parse(map, "config", &AddressPolicy::default()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "config.resolvers[0]",
                "config.resolvers[1]",
                "config.resolvers[2]"
            ]
        );
        let local = AddressPolicy::parse("127.0.0.0/8").unwrap();
        let problems = DnsPersonaConfig::parse(map, "config", &local).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
