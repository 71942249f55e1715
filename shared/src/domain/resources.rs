//! Personas and proxies: the resources a campaign references.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::FieldProblem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// +1 on every change; a PATCH is written conditionally on the version it read.
    pub version: u64,
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
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored resource of one owner.
pub trait OwnedResource: Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    const KIND: &'static str;
    /// Its API representation (everything but the owner).
    type View<'a>: Serialize
    where
        Self: 'a;
    fn id(&self) -> Uuid;
    fn owner(&self) -> &str;
    fn enabled(&self) -> bool;
    fn version(&self) -> u64;
    fn view(&self) -> Self::View<'_>;
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonaView<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub kind: PersonaKind,
    pub enabled: bool,
    #[schema(value_type = Object)]
    pub config: &'a serde_json::Map<String, serde_json::Value>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxyView<'a> {
    pub id: Uuid,
    pub address: &'a str,
    pub enabled: bool,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OwnedResource for Persona {
    const KIND: &'static str = "persona";
    type View<'a> = PersonaView<'a>;
    fn id(&self) -> Uuid {
        self.id
    }
    fn owner(&self) -> &str {
        &self.owner_id
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn view(&self) -> PersonaView<'_> {
        PersonaView {
            id: self.id,
            name: &self.name,
            kind: self.kind,
            enabled: self.enabled,
            config: &self.config,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl OwnedResource for Proxy {
    const KIND: &'static str = "proxy";
    type View<'a> = ProxyView<'a>;
    fn id(&self) -> Uuid {
        self.id
    }
    fn owner(&self) -> &str {
        &self.owner_id
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn view(&self) -> ProxyView<'_> {
        ProxyView {
            id: self.id,
            address: &self.address,
            enabled: self.enabled,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
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

pub const MAX_NAME_LEN: usize = 120;
/// A persona's config, as JSON text, is at most this long.
pub const MAX_PERSONA_CONFIG_BYTES: usize = 16 * 1024;

pub fn validate_name(field: &str, name: Option<&str>, problems: &mut Vec<FieldProblem>) {
    match name {
        None => problems.push(FieldProblem::new(field, "is required")),
        Some(n) if n.trim().is_empty() || n.chars().count() > MAX_NAME_LEN => problems.push(
            FieldProblem::new(field, format!("must be 1 to {MAX_NAME_LEN} characters")),
        ),
        Some(_) => {}
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
