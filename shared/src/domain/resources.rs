//! Personas and proxies: the resources a campaign references.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::FieldProblem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonaKind {
    Dns,
    Http,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Persona {
    pub id: Uuid,
    pub owner_id: String,
    pub name: String,
    pub kind: PersonaKind,
    pub enabled: bool,
    /// Stored as JSON text: a DynamoDB map cannot hold every JSON object (empty keys, numbers
    /// beyond 38 digits, nesting deeper than 32 levels), and a persona's config is free-form.
    #[serde(with = "json_text")]
    pub config: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proxy {
    pub id: Uuid,
    pub owner_id: String,
    pub address: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the API shows of a stored resource: everything but the owner.
pub trait OwnedResource: Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    const KIND: &'static str;
    fn id(&self) -> Uuid;
    fn enabled(&self) -> bool;
    fn to_api(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("ownerId");
        }
        v
    }
}

impl OwnedResource for Persona {
    const KIND: &'static str = "persona";
    fn id(&self) -> Uuid {
        self.id
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
    fn to_api(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "enabled": self.enabled,
            "config": self.config,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }
}

/// (De)serializes a JSON object as JSON text (and still reads one stored as a map).
mod json_text {
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    type JsonMap = serde_json::Map<String, serde_json::Value>;

    pub fn serialize<S: Serializer>(value: &JsonMap, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&serde_json::to_string(value).map_err(S::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<JsonMap, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Text(String),
            Map(JsonMap),
        }
        match Stored::deserialize(d)? {
            Stored::Text(text) => serde_json::from_str(&text).map_err(D::Error::custom),
            Stored::Map(map) => Ok(map),
        }
    }
}

impl OwnedResource for Proxy {
    const KIND: &'static str = "proxy";
    fn id(&self) -> Uuid {
        self.id
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
}

pub const MAX_NAME_LEN: usize = 120;
const MAX_PERSONA_CONFIG_BYTES: usize = 16 * 1024;

pub fn validate_name(field: &str, name: Option<&str>, problems: &mut Vec<FieldProblem>) {
    match name {
        None => problems.push(FieldProblem::new(field, "is required")),
        Some(n) if n.trim().is_empty() || n.chars().count() > MAX_NAME_LEN => problems.push(
            FieldProblem::new(field, format!("must be 1 to {MAX_NAME_LEN} characters")),
        ),
        Some(_) => {}
    }
}

/// Size limit for every persona; a `dns` persona's config must also be a valid
/// [`DnsPersonaConfig`].
pub fn validate_persona_config(
    kind: Option<PersonaKind>,
    config: &serde_json::Map<String, serde_json::Value>,
    problems: &mut Vec<FieldProblem>,
) {
    if kind == Some(PersonaKind::Dns)
        && let Err(p) = DnsPersonaConfig::parse(config, "config")
    {
        problems.extend(p);
    }
    let size = serde_json::to_vec(config)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_PERSONA_CONFIG_BYTES {
        problems.push(FieldProblem::new(
            "config",
            format!("must be at most {MAX_PERSONA_CONFIG_BYTES} bytes of JSON"),
        ));
    }
}

/// `http://host:port` or `socks5://host:port`, host a DNS name or IPv4 address, port 1–65535.
pub fn validate_proxy_address(address: Option<&str>, problems: &mut Vec<FieldProblem>) {
    let Some(address) = address else {
        problems.push(FieldProblem::new("address", "is required"));
        return;
    };
    let ok = address
        .strip_prefix("http://")
        .or_else(|| address.strip_prefix("socks5://"))
        .and_then(|rest| rest.rsplit_once(':'))
        .is_some_and(|(host, port)| {
            let host_ok = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                });
            let port_ok = port.chars().all(|c| c.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p > 0);
            host_ok && port_ok
        });
    if !ok {
        problems.push(FieldProblem::new(
            "address",
            "must be http://host:port or socks5://host:port",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(addr: &str) -> bool {
        let mut p = Vec::new();
        validate_proxy_address(Some(addr), &mut p);
        p.is_empty()
    }

    #[test]
    fn proxy_addresses() {
        assert!(check("http://127.0.0.1:8080"));
        assert!(check("socks5://proxy.example.com:1080"));
        for bad in [
            "ftp://x:1",
            "http://x",
            "http://:80",
            "http://x:0",
            "http://x:70000",
            "http://a b:80",
            "http://x:80/path",
        ] {
            assert!(!check(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        let mut p = Vec::new();
        validate_name("name", Some(""), &mut p);
        validate_name("name", Some(&"x".repeat(121)), &mut p);
        validate_name("name", None, &mut p);
        assert_eq!(p.len(), 3);
        let mut ok = Vec::new();
        validate_name("name", Some("Shoes Q4"), &mut ok);
        assert!(ok.is_empty());
    }
}

/// The `config` of a persona of kind `dns`, used by the validation phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsPersonaConfig {
    pub resolvers: Vec<std::net::SocketAddr>,
    pub timeout_ms: u64,
    pub concurrency: usize,
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
                        Some(addr) => Some(addr),
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
mod dns_config_tests {
    use super::*;

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn defaults_and_limits() {
        let c = DnsPersonaConfig::parse(
            &map(serde_json::json!({"resolvers": ["127.0.0.1:5353"]})),
            "config",
        )
        .unwrap();
        assert_eq!(c.resolvers[0].port(), 5353);
        assert_eq!(
            (c.timeout_ms, c.concurrency, c.rate_limit_per_second),
            (2000, 16, 200)
        );
        let bad = serde_json::json!({"resolvers": ["nope", "1.1.1.1"], "timeoutMs": 0, "concurrency": 1000});
        let problems = DnsPersonaConfig::parse(&map(bad), "config").unwrap_err();
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
        assert!(DnsPersonaConfig::parse(&map(serde_json::json!({})), "c").is_err());
    }
}
