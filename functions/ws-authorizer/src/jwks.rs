//! The issuer's signing keys (JWKS), fetched lazily and kept fresh.
//!
//! Invariants:
//! - Nothing is fetched at init: the first connection that needs a key fetches
//!   `issuer/.well-known/openid-configuration` → `jwks_uri` → the key set. A fetch failure (at a
//!   cold start or later) never sticks: the next attempt is allowed after a backoff
//!   (`backoff_initial`, doubling per consecutive failure, at most `backoff_max`), and until then
//!   requests fail fast without touching the network.
//! - A key set older than `max_age` (~10 minutes) is re-fetched before use; a token naming a key
//!   id the set does not have triggers a re-fetch at most once per `unknown_kid_interval`, so a
//!   forged `kid` cannot make every request fetch.
//! - A failed refresh keeps the last good set (an issuer outage must not lock everybody out); a
//!   key stays valid exactly until a successful fetch no longer lists it.
//! - One fetch at a time (the state lock is held across it); the discovered `jwks_uri` is kept
//!   and discovered again after a failed key-set fetch.
//! - TLS trusts Mozilla's roots compiled into the binary ([`https_client`]), never the host's
//!   certificate files.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use tokio::sync::Mutex;

/// When the key set is fetched again.
#[derive(Debug, Clone, Copy)]
pub struct JwksPolicy {
    /// A set older than this is re-fetched before it is used.
    pub max_age: Duration,
    /// An unknown `kid` re-fetches the set at most this often.
    pub unknown_kid_interval: Duration,
    /// The wait after the first failed fetch; it doubles per consecutive failure.
    pub backoff_initial: Duration,
    /// The longest wait between two attempts while fetches fail.
    pub backoff_max: Duration,
    /// Time-out of one HTTP request (discovery document or key set).
    pub request_timeout: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(600),
            unknown_kid_interval: Duration::from_secs(60),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(3),
        }
    }
}

/// Why no key could be produced for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The set was fetched and does not list this key id.
    UnknownKid,
    /// No set could be fetched yet (the issuer is unreachable, or we are backing off).
    Unavailable(String),
}

/// Counters, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JwksStatus {
    /// Fetch attempts so far (each is a discovery and/or key-set request).
    pub attempts: u32,
    /// Consecutive failed attempts (0 after a success).
    pub failures: u32,
    /// Keys in the current set (0 while none was fetched).
    pub keys: usize,
}

#[derive(Default)]
struct State {
    http: Option<reqwest::Client>,
    jwks_uri: Option<String>,
    set: Option<JwkSet>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
    attempts: u32,
    failures: u32,
    last_error: String,
}

pub struct JwksCache {
    issuer: String,
    policy: JwksPolicy,
    state: Mutex<State>,
}

impl JwksCache {
    /// `http`: the client to use, or `None` to build one on the first fetch (keeps TLS set-up
    /// out of the Lambda init).
    pub fn new(issuer: &str, policy: JwksPolicy, http: Option<reqwest::Client>) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_string(),
            policy,
            state: Mutex::new(State {
                http,
                ..State::default()
            }),
        }
    }

    pub async fn status(&self) -> JwksStatus {
        let st = self.state.lock().await;
        JwksStatus {
            attempts: st.attempts,
            failures: st.failures,
            keys: st.set.as_ref().map_or(0, |s| s.keys.len()),
        }
    }

    /// The key for `kid`, fetching or refreshing the set first when the policy says so.
    pub async fn key(&self, kid: &str) -> Result<Jwk, KeyError> {
        let mut st = self.state.lock().await;
        let now = Instant::now();
        let since = |t: Option<Instant>| t.map(|t| now.saturating_duration_since(t));
        let backing_off = st.failures > 0
            && since(st.last_attempt).is_some_and(|d| d < self.backoff(st.failures));
        let known = st.set.as_ref().and_then(|s| s.find(kid)).is_some();
        let stale = since(st.fetched_at).is_none_or(|d| d >= self.policy.max_age);
        let unknown_kid_due =
            !known && since(st.last_attempt).is_none_or(|d| d >= self.policy.unknown_kid_interval);
        if !backing_off && (st.set.is_none() || stale || unknown_kid_due) {
            self.fetch(&mut st, now).await;
        }
        match &st.set {
            None => Err(KeyError::Unavailable(format!(
                "no signing keys yet after {} failed attempt(s): {}",
                st.failures, st.last_error
            ))),
            Some(set) => set.find(kid).cloned().ok_or(KeyError::UnknownKid),
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1));
        self.policy
            .backoff_initial
            .saturating_mul(factor)
            .min(self.policy.backoff_max)
    }

    async fn fetch(&self, st: &mut State, now: Instant) {
        st.last_attempt = Some(now);
        st.attempts += 1;
        let http = match &st.http {
            Some(c) => c.clone(),
            None => match https_client(self.policy.request_timeout) {
                Ok(c) => {
                    st.http = Some(c.clone());
                    c
                }
                Err(e) => return self.failed(st, format!("HTTP client: {e}")),
            },
        };
        let uri = match &st.jwks_uri {
            Some(u) => u.clone(),
            None => {
                #[derive(Deserialize)]
                struct Discovery {
                    jwks_uri: String,
                }
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                match get_json::<Discovery>(&http, &url).await {
                    Ok(d) => {
                        st.jwks_uri = Some(d.jwks_uri.clone());
                        d.jwks_uri
                    }
                    Err(e) => return self.failed(st, e),
                }
            }
        };
        match get_json::<JwkSet>(&http, &uri).await {
            Ok(set) => {
                tracing::info!(keys = set.keys.len(), %uri, attempts = st.attempts, "JWKS loaded");
                st.set = Some(set);
                st.fetched_at = Some(now);
                st.failures = 0;
                st.last_error.clear();
            }
            Err(e) => {
                // Perhaps the issuer moved its keys: discover the URI again next time.
                st.jwks_uri = None;
                self.failed(st, e);
            }
        }
    }

    fn failed(&self, st: &mut State, error: String) {
        st.failures += 1;
        let retry_in = self.backoff(st.failures);
        tracing::warn!(
            %error,
            failures = st.failures,
            keeps_old_keys = st.set.is_some(),
            retry_in_ms = retry_in.as_millis() as u64,
            issuer = %self.issuer,
            "JWKS fetch failed"
        );
        st.last_error = error;
    }
}

/// The HTTPS client of the key fetches: rustls trusting exactly Mozilla's root certificates as
/// compiled into `webpki-root-certs` (the same roots as the SDK clients, `shared/src/sdk.rs`), so
/// building it reads no certificate file (reqwest's default, `rustls-platform-verifier`, loads
/// the system's store). Cognito's and the usual issuers' certificates chain to those roots.
fn https_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| reqwest::Certificate::from_der(der.as_ref()))
        .collect::<reqwest::Result<Vec<_>>>()?;
    reqwest::Client::builder()
        .timeout(timeout)
        .tls_certs_only(roots)
        .build()
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let res = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{url}: HTTP {}", res.status()));
    }
    res.json::<T>().await.map_err(|e| format!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let cache = JwksCache::new("https://issuer.example", JwksPolicy::default(), None);
        let secs: Vec<u64> = (1..=9).map(|n| cache.backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(cache.backoff(u32::MAX), Duration::from_secs(60));
    }

    /// What building the key-fetch client costs (printed; run with `--ignored --nocapture`,
    /// ideally `--release`): reqwest's default (rustls-platform-verifier, the system's roots)
    /// against [`https_client`] (the compiled-in roots). docs/DEPLOY.md quotes it.
    #[test]
    #[ignore]
    fn client_build_cost() {
        let time = |f: &dyn Fn()| {
            f(); // warm-up
            let started = std::time::Instant::now();
            for _ in 0..20 {
                f();
            }
            started.elapsed().as_secs_f64() * 1000.0 / 20.0
        };
        let system = time(&|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap();
        });
        let compiled = time(&|| {
            https_client(Duration::from_secs(3)).unwrap();
        });
        println!(
            "client build: system roots (platform verifier) {system:.2} ms, compiled-in roots {compiled:.2} ms"
        );
    }

    #[test]
    fn the_https_client_takes_every_compiled_in_root() {
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        https_client(Duration::from_secs(1)).expect("every Mozilla root is a valid certificate");
    }
}
