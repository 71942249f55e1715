//! The `config` of a persona of kind `http` (API.md), used by the keywords phase: how its fetches
//! look (user agent, headers, scheme, port) and how hard they may go (time-out, concurrency,
//! rate, body size, redirects). Checked when the persona is created or patched and again at the
//! phase's pre-start.
//!
//! Every field but `userAgent` has a default; a field of the wrong type or out of range is a
//! problem, never silently the default, and so is a field this kind does not have (a typo such
//! as `timeoutMS` would otherwise quietly mean 5000). Headers: at most 20, names that are HTTP
//! tokens, values that are visible ASCII (spaces and tabs inside), no two names equal ignoring
//! case, and none of `Host` and `Content-Length` (the contract) nor `Transfer-Encoding` (the
//! same framing problem as `Content-Length`, for a request without a body).
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::FieldProblem;
use crate::net::AddressPolicy;

/// `https` (the default) or `http`: how every domain is fetched.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    #[default]
    Https,
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Https => "https",
            Self::Http => "http",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::Https => 443,
            Self::Http => 80,
        }
    }
}

/// The `config` of a persona of kind `http`, used by the keywords phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpPersonaConfig {
    #[schema(min_length = 1, max_length = 256)]
    pub user_agent: String,
    /// Request headers `{name: value}`, at most 20, not `Host`, `Content-Length` or
    /// `Transfer-Encoding`. Held as pairs in the order the JSON object keeps (by name).
    #[schema(value_type = std::collections::BTreeMap<String, String>, required = false)]
    pub headers: Vec<(String, String)>,
    #[schema(required = false, default = "https")]
    pub scheme: Scheme,
    /// Default 443 for `https`, 80 for `http`.
    #[schema(required = false, minimum = 1, maximum = 65535)]
    pub port: u16,
    #[schema(required = false, default = 5000, minimum = 100, maximum = 30000)]
    pub timeout_ms: u64,
    #[schema(required = false, default = 16, minimum = 1, maximum = 128)]
    pub concurrency: usize,
    #[schema(required = false, default = 50, minimum = 1, maximum = 1000)]
    pub rate_limit_per_second: u32,
    #[schema(required = false, default = 262144, minimum = 1024, maximum = 1048576)]
    pub max_body_bytes: usize,
    #[schema(required = false, default = 3, minimum = 0, maximum = 5)]
    pub follow_redirects: u8,
}

const FIELDS: [&str; 9] = [
    "userAgent",
    "headers",
    "scheme",
    "port",
    "timeoutMs",
    "concurrency",
    "rateLimitPerSecond",
    "maxBodyBytes",
    "followRedirects",
];

impl HttpPersonaConfig {
    pub const MAX_USER_AGENT_CHARS: usize = 256;
    pub const MAX_HEADERS: usize = 20;
    pub const DEFAULT_TIMEOUT_MS: u64 = 5000;
    pub const DEFAULT_CONCURRENCY: usize = 16;
    pub const DEFAULT_RATE: u32 = 50;
    pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
    pub const DEFAULT_FOLLOW_REDIRECTS: u8 = 3;
    /// Request headers the fetcher sets itself (compared ignoring case).
    pub const FORBIDDEN_HEADERS: [&'static str; 3] =
        ["host", "content-length", "transfer-encoding"];

    /// Reads and checks an http persona's config; problems name fields under `prefix`.
    /// `policy` is unused: an http persona names no address (the domains' addresses are checked
    /// at fetch time); it is taken so every persona kind parses the same way.
    pub fn parse(
        config: &Map<String, Value>,
        prefix: &str,
        policy: &AddressPolicy,
    ) -> Result<Self, Vec<FieldProblem>> {
        let _ = policy;
        let mut problems = Vec::new();
        let field = |n: &str| format!("{prefix}.{n}");
        for key in config.keys() {
            if !FIELDS.contains(&key.as_str()) {
                problems.push(FieldProblem::new(
                    field(key),
                    format!("is not a field of an http persona ({})", FIELDS.join(", ")),
                ));
            }
        }

        let user_agent = match config.get("userAgent") {
            None => {
                problems.push(FieldProblem::new(field("userAgent"), "is required"));
                String::new()
            }
            Some(Value::String(ua))
                if !ua.is_empty()
                    && ua.chars().count() <= Self::MAX_USER_AGENT_CHARS
                    && HeaderValue::from_str(ua).is_ok()
                    && ua.trim() == ua =>
            {
                ua.clone()
            }
            Some(_) => {
                problems.push(FieldProblem::new(
                    field("userAgent"),
                    format!(
                        "must be a string of 1 to {} visible ASCII characters (spaces inside)",
                        Self::MAX_USER_AGENT_CHARS
                    ),
                ));
                String::new()
            }
        };

        let headers = parse_headers(config.get("headers"), prefix, &mut problems);

        let scheme = match config.get("scheme") {
            None => Scheme::Https,
            Some(v) => match v.as_str() {
                Some("https") => Scheme::Https,
                Some("http") => Scheme::Http,
                _ => {
                    problems.push(FieldProblem::new(
                        field("scheme"),
                        "must be \"https\" or \"http\"",
                    ));
                    Scheme::Https
                }
            },
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
        let port = number("port", u64::from(scheme.default_port()), 1, 65_535) as u16;
        let timeout_ms = number("timeoutMs", Self::DEFAULT_TIMEOUT_MS, 100, 30_000);
        let concurrency = number("concurrency", Self::DEFAULT_CONCURRENCY as u64, 1, 128) as usize;
        let rate_limit_per_second =
            number("rateLimitPerSecond", u64::from(Self::DEFAULT_RATE), 1, 1000) as u32;
        let max_body_bytes = number(
            "maxBodyBytes",
            Self::DEFAULT_MAX_BODY_BYTES as u64,
            1024,
            1024 * 1024,
        ) as usize;
        let follow_redirects = number(
            "followRedirects",
            u64::from(Self::DEFAULT_FOLLOW_REDIRECTS),
            0,
            5,
        ) as u8;

        if problems.is_empty() {
            Ok(Self {
                user_agent,
                headers,
                scheme,
                port,
                timeout_ms,
                concurrency,
                rate_limit_per_second,
                max_body_bytes,
                follow_redirects,
            })
        } else {
            Err(problems)
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

fn parse_headers(
    raw: Option<&Value>,
    prefix: &str,
    problems: &mut Vec<FieldProblem>,
) -> Vec<(String, String)> {
    let map = match raw {
        None => return Vec::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            problems.push(FieldProblem::new(
                format!("{prefix}.headers"),
                "must be an object of header names to string values",
            ));
            return Vec::new();
        }
    };
    if map.len() > HttpPersonaConfig::MAX_HEADERS {
        problems.push(FieldProblem::new(
            format!("{prefix}.headers"),
            format!("at most {} headers", HttpPersonaConfig::MAX_HEADERS),
        ));
        return Vec::new();
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(map.len());
    for (name, value) in map {
        let field = format!("{prefix}.headers.{name}");
        let lower = name.to_ascii_lowercase();
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(FieldProblem::new(field, "is not a valid header name"));
        } else if HttpPersonaConfig::FORBIDDEN_HEADERS.contains(&lower.as_str()) {
            problems.push(FieldProblem::new(
                field,
                "is set by the fetcher (Host, Content-Length and Transfer-Encoding are not allowed)",
            ));
        } else if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            problems.push(FieldProblem::new(
                field,
                "repeats a header name (names ignore case)",
            ));
        } else {
            match value.as_str().filter(|v| HeaderValue::from_str(v).is_ok()) {
                Some(v) => out.push((name.clone(), v.to_string())),
                None => problems.push(FieldProblem::new(
                    field,
                    "must be a string of visible ASCII characters (spaces and tabs inside)",
                )),
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "persona_tests.rs"]
mod tests;
