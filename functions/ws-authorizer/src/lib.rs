//! The WebSocket `$connect` REQUEST authorizer. Browsers cannot set headers on a WebSocket, so
//! the JWT comes as `?token=`; a valid one yields an IAM policy allowing the connection, with the
//! caller's `sub` as principal and in the context (`requestContext.authorizer.sub` of every route).
//!
//! Keys:
//! - `JWT_SECRET` set: HS256 with that shared secret (the local stack's dev tokens).
//! - otherwise the issuer's JWKS, as API Gateway's HTTP API JWT authorizer does, through
//!   [`jwks::JwksCache`]: fetched lazily on the first connection (never at init), re-fetched when
//!   older than ~10 minutes and when a token names an unknown key id (key rotation), with a
//!   backoff while the issuer is unreachable, so a failure at a cold start heals by itself.
//!   Asymmetric algorithms only, so a public key can never be used as an HMAC secret.
//!
//! Claims: `iss` = `JWT_ISSUER`; `aud` (ID tokens) or `client_id` (Cognito access tokens) =
//! `JWT_AUDIENCE`; `exp` in the future and `nbf` (when present) in the past, 5 s leeway; a
//! non-empty `sub`.
//!
//! Answers: a missing or bad token → the error `Unauthorized`, which API Gateway turns into 401
//! (EVENTS.md). No key set fetched yet (issuer unreachable) → any other error, which API Gateway
//! answers with 500: the client should retry, its token is not the problem. No key configured at
//! all → a Deny policy (403) rather than letting anyone in.

pub mod jwks;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{Value, json};

pub use jwks::{JwksCache, JwksPolicy, JwksStatus, KeyError};

/// Local defaults, the same as the local gateway's HTTP authorizer.
pub const LOCAL_ISSUER: &str = "campaign-autostart-local";
pub const DEFAULT_AUDIENCE: &str = "campaign-autostart";

const ASYMMETRIC: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// Missing, malformed, badly signed, expired, not yet valid, or the wrong issuer/audience: 401.
    Unauthorized(String),
    /// The issuer's keys could not be fetched (yet): 500, the client retries.
    Unavailable(String),
    /// No key is configured: deny (403).
    NotConfigured,
}

enum Keys {
    Secret(DecodingKey),
    /// A fixed key set (tests, no refresh).
    Fixed(JwkSet),
    Issuer(Box<JwksCache>),
    None,
}

pub struct Verifier {
    keys: Keys,
    issuer: String,
    audience: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    aud: Option<Value>,
    client_id: Option<String>,
}

impl Verifier {
    pub fn hs256(secret: &str, issuer: &str, audience: &str) -> Self {
        Self {
            keys: Keys::Secret(DecodingKey::from_secret(secret.as_bytes())),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// A fixed key set (no fetching, no refresh).
    pub fn with_jwks(set: JwkSet, issuer: &str, audience: &str) -> Self {
        Self {
            keys: Keys::Fixed(set),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// The issuer's key set, fetched from `issuer/.well-known/openid-configuration` on demand.
    /// `http`: a client to use (tests), or `None` to build one on the first fetch.
    pub fn from_issuer(
        issuer: &str,
        audience: &str,
        policy: JwksPolicy,
        http: Option<reqwest::Client>,
    ) -> Self {
        Self {
            keys: Keys::Issuer(Box::new(JwksCache::new(issuer, policy, http))),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    pub fn unconfigured() -> Self {
        Self {
            keys: Keys::None,
            issuer: String::new(),
            audience: String::new(),
        }
    }

    /// From the environment (see the module docs). Fetches nothing: the keys come with the first
    /// connection that needs them.
    pub fn from_env() -> Self {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let audience = env("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into());
        if let Some(secret) = env("JWT_SECRET") {
            return Self::hs256(
                &secret,
                &env("JWT_ISSUER").unwrap_or_else(|| LOCAL_ISSUER.into()),
                &audience,
            );
        }
        match env("JWT_ISSUER") {
            Some(issuer) => Self::from_issuer(&issuer, &audience, JwksPolicy::default(), None),
            None => {
                tracing::error!(
                    "neither JWT_SECRET nor JWT_ISSUER is set; every connection is denied"
                );
                Self::unconfigured()
            }
        }
    }

    /// Fetch counters of the issuer's key set (None without an issuer).
    pub async fn jwks_status(&self) -> Option<JwksStatus> {
        match &self.keys {
            Keys::Issuer(cache) => Some(cache.status().await),
            _ => None,
        }
    }

    /// The `sub` of a valid token.
    pub async fn verify(&self, token: Option<&str>) -> Result<String, Reject> {
        let bad = |why: &str| Reject::Unauthorized(why.to_string());
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no token"))?;
        let header = jsonwebtoken::decode_header(token).map_err(|e| bad(&e.to_string()))?;
        let asymmetric = |alg: Algorithm| {
            if ASYMMETRIC.contains(&alg) {
                Ok(())
            } else {
                Err(bad("unexpected algorithm"))
            }
        };
        let (key, alg) = match &self.keys {
            Keys::None => return Err(Reject::NotConfigured),
            Keys::Secret(key) if header.alg == Algorithm::HS256 => (key.clone(), Algorithm::HS256),
            Keys::Secret(_) => return Err(bad("unexpected algorithm")),
            Keys::Fixed(set) => {
                asymmetric(header.alg)?;
                let kid = header.kid.as_deref().ok_or_else(|| bad("no key id"))?;
                let jwk = set.find(kid).ok_or_else(|| bad("unknown key id"))?;
                (
                    DecodingKey::from_jwk(jwk).map_err(|e| bad(&e.to_string()))?,
                    header.alg,
                )
            }
            Keys::Issuer(cache) => {
                asymmetric(header.alg)?;
                let kid = header.kid.as_deref().ok_or_else(|| bad("no key id"))?;
                let jwk = cache.key(kid).await.map_err(|e| match e {
                    KeyError::UnknownKid => bad("unknown key id"),
                    KeyError::Unavailable(why) => Reject::Unavailable(why),
                })?;
                (
                    DecodingKey::from_jwk(&jwk).map_err(|e| bad(&e.to_string()))?,
                    header.alg,
                )
            }
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.validate_aud = false; // checked below: `aud` or `client_id`
        validation.validate_nbf = true; // only when the token has one (not a required claim)
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| bad(&e.to_string()))?
            .claims;
        let audience_ok = match &claims.aud {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        } || claims.client_id.as_deref() == Some(&self.audience);
        if !audience_ok {
            return Err(bad("wrong audience"));
        }
        claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("no sub"))
    }
}

/// The authorizer's answer: `effect` on the `$connect` method ARN for `principal`, with `sub` in
/// the context.
pub fn policy(
    principal: &str,
    effect: IamPolicyEffect,
    method_arn: &str,
) -> ApiGatewayCustomAuthorizerResponse {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".into()];
    statement.effect = effect;
    statement.resource = vec![method_arn.to_string()];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".into());
    document.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(principal.to_string());
    response.policy_document = document;
    response.context = json!({ "sub": principal });
    response
}

pub async fn handler(
    verifier: &Verifier,
    event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>,
) -> Result<ApiGatewayCustomAuthorizerResponse, Error> {
    let request = event.payload;
    let method_arn = request.method_arn.as_deref().unwrap_or_default();
    match verifier
        .verify(request.query_string_parameters.first("token"))
        .await
    {
        Ok(sub) => Ok(policy(&sub, IamPolicyEffect::Allow, method_arn)),
        Err(Reject::NotConfigured) => {
            let mut denied = policy("anonymous", IamPolicyEffect::Deny, method_arn);
            denied.context = json!({});
            Ok(denied)
        }
        Err(Reject::Unauthorized(why)) => {
            tracing::info!(%why, "token refused");
            // API Gateway answers exactly this error message with 401.
            Err("Unauthorized".into())
        }
        Err(Reject::Unavailable(why)) => {
            tracing::error!(%why, "cannot check the token: the issuer's keys are unavailable");
            // Any other error is a 500 for the client: retry, the token may be fine.
            Err(format!("signing keys unavailable: {why}").into())
        }
    }
}

#[cfg(test)]
mod tests;
