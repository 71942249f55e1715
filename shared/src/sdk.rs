//! The AWS SDK configuration every function loads at init: the standard provider chain
//! (`aws_config::defaults`), with an HTTPS client that costs nothing until the first request.
//!
//! The SDK's default HTTPS client (hyper + rustls) loads the system's trusted certificates when
//! an SDK client is constructed: `HyperClient::validate_base_client_config` builds a throwaway
//! connector for every client just so that the certificates load at init, and each connector
//! parses them again. That was most of the SDK functions' cold init (docs/DEPLOY.md, "Build sizes
//! and cold start"). Here instead:
//!
//! - **Compiled-in roots.** The trust store is Mozilla's root certificates as shipped by
//!   `webpki-root-certs` (the list rustls' own `webpki-roots` is built from), not the files under
//!   `/etc/ssl` or `/etc/pki`: no file system reads, the same roots on every host, and
//!   `SSL_CERT_FILE`/`SSL_CERT_DIR` are not read. Every AWS endpoint chains to Amazon Trust
//!   Services roots, which are on that list. Updating the roots means updating that crate.
//! - **Built on the first request.** [`https_client`] returns a client whose connector factory
//!   runs on the first `http_connector` call (the first request of any SDK client of the
//!   process), not at client construction; smithy caches the connector per timeout settings
//!   from then on.
//! - **Unchanged otherwise:** rustls with aws-lc-rs and smithy's cipher suites
//!   (`CryptoMode::AwsLc`, what `default-https-client` uses), hyper 1, the same pool and
//!   connector settings. A plain-HTTP endpoint (moto) goes through the same connector.
//!
//! Operation time-outs are set below the function time-out (`SDK_OPERATION_TIMEOUT_MS`, 4 s by
//! default), so a hung call fails in time for the handler to report it and for the message or
//! record to be retried, instead of the whole invocation timing out.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine;

/// The SDK configuration from the environment, with [`https_client`] and [`timeouts`].
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts())
        .load()
        .await
}

/// `SDK_OPERATION_TIMEOUT_MS` (default 4000): one operation, all its retries included.
pub fn operation_timeout() -> Duration {
    let ms = std::env::var("SDK_OPERATION_TIMEOUT_MS")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("SDK_OPERATION_TIMEOUT_MS={v:?} is not a number"))
        })
        .unwrap_or(4000);
    Duration::from_millis(ms)
}

/// Connect 2 s; an attempt at most 2 s (or half the operation's time, if that is longer); the
/// operation [`operation_timeout`].
pub fn timeouts() -> TimeoutConfig {
    let operation = operation_timeout();
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(operation.min(Duration::from_secs(2)).max(operation / 2))
        .operation_timeout(operation)
        .build()
}

/// An HTTPS client with compiled-in roots, built on its first request.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(OnFirstRequest::new(webpki_https_client))
}

/// The SDK's rustls client (aws-lc-rs) trusting exactly the Mozilla roots.
fn webpki_https_client() -> SharedHttpClient {
    let roots = TrustStore::empty().with_pem_certificate(mozilla_roots_pem());
    let context = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("a TLS context with only a trust store is valid");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// `webpki_root_certs::TLS_SERVER_ROOT_CERTS` as one PEM bundle (smithy's trust store takes PEM).
pub fn mozilla_roots_pem() -> Vec<u8> {
    let mut out = String::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2200);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

/// An [`HttpClient`] that builds the real one on the first connector request. It keeps the
/// default `validate_base_client_config` (which does nothing), so constructing an SDK client
/// costs nothing here.
struct OnFirstRequest {
    client: OnceLock<SharedHttpClient>,
    build: fn() -> SharedHttpClient,
}

impl OnFirstRequest {
    fn new(build: fn() -> SharedHttpClient) -> Self {
        Self {
            client: OnceLock::new(),
            build,
        }
    }
}

impl std::fmt::Debug for OnFirstRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnFirstRequest")
            .field("built", &self.client.get().is_some())
            .finish()
    }
}

impl HttpClient for OnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.client
            .get_or_init(self.build)
            .http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.client.get().and_then(|c| c.connector_metadata())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_pem_bundle_holds_every_mozilla_root_exactly() {
        let pem = String::from_utf8(mozilla_roots_pem()).unwrap();
        let blocks: Vec<&str> = pem
            .split("-----BEGIN CERTIFICATE-----\n")
            .skip(1)
            .map(|b| b.split("-----END CERTIFICATE-----").next().unwrap())
            .collect();
        assert!(blocks.len() > 100, "{} roots", blocks.len());
        assert_eq!(blocks.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        for (block, cert) in blocks.iter().zip(webpki_root_certs::TLS_SERVER_ROOT_CERTS) {
            let der = base64::engine::general_purpose::STANDARD
                .decode(block.replace('\n', ""))
                .unwrap();
            assert_eq!(der, cert.as_ref());
        }
    }

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    fn counted() -> SharedHttpClient {
        BUILT.fetch_add(1, Ordering::SeqCst);
        webpki_https_client()
    }

    /// Constructing SDK clients builds no connector; the first request builds the client once.
    #[tokio::test]
    async fn the_client_is_built_on_the_first_request_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = r#"{"TableNames":[]}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
            }
        });
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                aws_sdk_dynamodb::config::Credentials::new("a", "b", None, None, "test"),
            ))
            .endpoint_url(endpoint)
            .http_client(SharedHttpClient::new(OnFirstRequest::new(counted)))
            .build();
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let _sqs = aws_sdk_sqs::Client::new(&sdk);
        assert_eq!(
            BUILT.load(Ordering::SeqCst),
            0,
            "built at client construction"
        );
        let out = ddb
            .list_tables()
            .send()
            .await
            .expect("a request over plain HTTP");
        assert_eq!(out.table_names(), &[] as &[String]);
        ddb.list_tables().send().await.expect("a second request");
        assert_eq!(
            BUILT.load(Ordering::SeqCst),
            1,
            "built once, on the first request"
        );
    }
}
