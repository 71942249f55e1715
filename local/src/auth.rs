//! The local stand-in for API Gateway's JWT authorizer (HS256, `LOCAL_JWT_SECRET`), and the
//! dev token endpoint `POST /_local/token` (local stack only, never deployed).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "campaign-autostart-local";
pub const AUDIENCE: &str = "campaign-autostart";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
}

#[derive(Clone)]
pub struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Jwt {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.leeway = 0;
        validation.validate_nbf = true;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// The claims API Gateway would pass to the handler, as strings (the HTTP API JWT authorizer
    /// flattens claims to strings), or `None` for a missing/invalid/expired token.
    pub fn verify(&self, token: &str) -> Option<Vec<(String, String)>> {
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &self.decoding,
            &self.validation,
        )
        .ok()?;
        if data
            .claims
            .get("sub")
            .and_then(|s| s.as_str())
            .is_none_or(str::is_empty)
        {
            return None;
        }
        Some(
            data.claims
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect(),
        )
    }

    pub fn mint(
        &self,
        sub: &str,
        ttl_seconds: i64,
    ) -> Result<(String, i64), jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + ttl_seconds,
            iat: now,
        };
        Ok((
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?,
            now + ttl_seconds,
        ))
    }
}

/// The token from `Authorization: Bearer <token>`.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}
