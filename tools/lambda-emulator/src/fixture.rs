//! The `events/` fixtures, instantiated for one test case.
//!
//! Every fixture uses the same campaign, owner, connection and idempotency key (docs/DEPLOY.md,
//! "About the events"), and tokens that expire. A case gets the fixture with fresh values in
//! their place ([`Fresh`]), so cases never see each other's data and the test can run again and
//! again against the same moto; everything else in the fixture is sent as it is.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The values the fixtures share.
pub const CAMPAIGN: &str = "3f2b8c1e-7a4d-4e2b-9c6f-1d2e3f4a5b6c";
pub const OWNER: &str = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d";
pub const CONNECTION: &str = "Vq3xYcE2IAMCJfA=";
pub const IDEMPOTENCY_KEY: &str = "c0ffee00-1234-4abc-8def-0123456789ab";
/// `requestContext.connectedAt` of the WebSocket fixtures (epoch ms).
pub const CONNECTED_AT_MS: &str = "1795600798000";

/// The local stack's token settings (API.md, Auth).
pub const LOCAL_SECRET: &str = "local-dev-secret";
pub const LOCAL_ISSUER: &str = "campaign-autostart-local";
pub const AUDIENCE: &str = "campaign-autostart";

/// ws-authorizer's test key pair: the RS256 private key, and the JWKS with its public half.
const RS256_KEY_DER: &[u8] =
    include_bytes!("../../../functions/ws-authorizer/testdata/rs256-test-key.der");
const RS256_JWKS: &str = include_str!("../../../functions/ws-authorizer/testdata/jwks.json");
const RS256_KID: &str = "test-key-1";

/// The repository root (the fixtures are in `events/`, the functions in `functions/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Fresh stand-ins for the fixtures' shared values.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub campaign: String,
    pub owner: String,
    pub connection: String,
    pub idempotency_key: String,
    pub now_ms: i64,
}

impl Fresh {
    pub fn new() -> Self {
        let id = || uuid::Uuid::new_v4().to_string();
        let conn = uuid::Uuid::new_v4().simple().to_string();
        Self {
            campaign: id(),
            owner: id(),
            // API Gateway connection ids look like `Vq3xYcE2IAMCJfA=`: keep the `=`.
            connection: format!("bt{}=", &conn[..14]),
            idempotency_key: id(),
            now_ms: chrono::Utc::now().timestamp_millis(),
        }
    }

    /// A valid local-stack token (HS256) for the fresh owner.
    pub fn token(&self) -> String {
        hs256(&self.claims(LOCAL_ISSUER, 3600))
    }

    /// `iss`, `aud`, `sub` (the fresh owner), `iat`, `exp` in `ttl_seconds` (negative: expired).
    pub fn claims(&self, issuer: &str, ttl_seconds: i64) -> Value {
        let now = self.now_ms / 1000;
        json!({"sub": self.owner, "iss": issuer, "aud": AUDIENCE, "iat": now, "exp": now + ttl_seconds})
    }

    fn replace(&self, s: &str, token: &str) -> String {
        let s = s
            .replace(CAMPAIGN, &self.campaign)
            .replace(OWNER, &self.owner)
            .replace(CONNECTION, &self.connection)
            .replace(IDEMPOTENCY_KEY, &self.idempotency_key)
            .replace(CONNECTED_AT_MS, &(self.now_ms - 1000).to_string());
        replace_jwts(&s, token)
    }
}

impl Default for Fresh {
    fn default() -> Self {
        Self::new()
    }
}

pub fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(LOCAL_SECRET.as_bytes()),
    )
    .expect("HS256 signing")
}

/// A token signed with ws-authorizer's RS256 test key (the key id of [`rs256_jwks`]).
pub fn rs256(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(RS256_KID.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(RS256_KEY_DER))
        .expect("RS256 signing")
}

pub fn rs256_jwks() -> Value {
    serde_json::from_str(RS256_JWKS).expect("testdata/jwks.json is JSON")
}

/// Replaces every JWT (`eyJ…` with two dots) in `s` by `token`.
fn replace_jwts(s: &str, token: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        out.push_str(if candidate.matches('.').count() == 2 {
            token
        } else {
            candidate
        });
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The raw text of `events/<name>`.
pub fn text(name: &str) -> Result<String, String> {
    let path = root().join("events").join(name);
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `events/<name>` with the fresh values (tokens replaced by `token`), as JSON.
pub fn instantiate(name: &str, fresh: &Fresh, token: &str) -> Result<Value, String> {
    let raw: Value = serde_json::from_str(&text(name)?).map_err(|e| format!("{name}: {e}"))?;
    Ok(map_strings(raw, &|s| fresh.replace(s, token)))
}

/// Applies `f` to every string (keys included) and to the numbers that are a shared value.
fn map_strings(v: Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (f(&k), map_strings(v, f)))
                .collect(),
        ),
        Value::Number(n) if n.to_string() == CONNECTED_AT_MS => f(CONNECTED_AT_MS)
            .parse()
            .map(Value::Number)
            .unwrap_or(Value::Number(n)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_values_and_tokens_are_replaced_everywhere() {
        let fresh = Fresh::new();
        let token = fresh.token();
        let ev = instantiate("ws-connect.json", &fresh, &token).unwrap();
        let text = ev.to_string();
        for old in [
            CAMPAIGN,
            OWNER,
            CONNECTION,
            CONNECTED_AT_MS,
            "eyJhbGciOiJIUzI1NiIs",
        ] {
            assert!(!text.contains(old), "{old} left in {text}");
        }
        assert_eq!(ev["requestContext"]["connectionId"], fresh.connection);
        assert_eq!(ev["requestContext"]["authorizer"]["sub"], fresh.owner);
        assert_eq!(ev["queryStringParameters"]["token"], token);
        assert_eq!(ev["requestContext"]["connectedAt"], fresh.now_ms - 1000);
        assert_eq!(
            replace_jwts("Bearer a.b.c eyJx.y", "T"),
            "Bearer a.b.c eyJx.y"
        );
        assert_eq!(replace_jwts("Bearer eyJa.b-c.d_e!", "T"), "Bearer T!");
    }
}
