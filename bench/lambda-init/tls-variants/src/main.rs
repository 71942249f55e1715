//! The SDK's HTTPS client five ways (`TLS=` picks one), each with a DynamoDB and an SQS client
//! built at init as the functions' `AppState` does, and one `ListTables` per invocation:
//!
//! - `default`: what `aws_config::defaults().load()` gives (native roots, loaded and parsed when
//!   each client is constructed);
//! - `native`: the same client built explicitly (`Builder::tls_provider(Rustls(AwsLc))`);
//! - `pem`: compiled-in Mozilla roots (`webpki-root-certs`) as smithy's PEM trust store;
//! - `lazy`: `native`, built on the first request instead of at client construction;
//! - `lazy-pem`: `pem`, built on the first request (what shared/src/sdk.rs does);
//! - `hello`: no SDK at all (the baseline).
//!
//! It prints `init_internal_us` (main → clients built) and, per invocation, `first_call_ms`
//! (the `ListTables`, connector creation included on the first). Run it under
//! bench/lambda-init/lambda_init.py, e.g. (moto on 4566):
//!
//! ```text
//! cargo build --release --manifest-path bench/lambda-init/tls-variants/Cargo.toml
//! B=$CARGO_TARGET_DIR/release/tls-variants; E=AWS_ENDPOINT_URL=http://127.0.0.1:4566
//! python3 bench/lambda-init/lambda_init.py --runs 20 --log-dir target/bench/tls-logs \
//!   $(for v in hello default native pem lazy lazy-pem; do echo --function "$v+TLS=$v,$E" $B - -; done)
//! ```

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine;
use serde_json::json;

fn native() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_https()
}

fn pem_bundle() -> Vec<u8> {
    let mut out = String::with_capacity(300_000);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

fn pem() -> SharedHttpClient {
    let ctx = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(pem_bundle()))
        .build()
        .unwrap();
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(ctx)
        .build_https()
}

#[derive(Debug)]
struct Lazy {
    inner: OnceLock<SharedHttpClient>,
    make: fn() -> SharedHttpClient,
}
impl HttpClient for Lazy {
    fn http_connector(&self, s: &HttpConnectorSettings, c: &RuntimeComponents) -> SharedHttpConnector {
        self.inner.get_or_init(self.make).http_connector(s, c)
    }
}
fn lazy(make: fn() -> SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(Lazy { inner: OnceLock::new(), make })
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let variant = std::env::var("TLS").unwrap_or_else(|_| "default".into());
    let t0 = Instant::now();
    if variant == "hello" {
        return lambda_runtime::run(lambda_runtime::service_fn(|_e: lambda_runtime::LambdaEvent<serde_json::Value>| async { Ok::<_, lambda_runtime::Error>(json!({"hello": 1})) })).await;
    }
    let http = match variant.as_str() {
        "default" => None,
        "native" => Some(native()),
        "pem" => Some(pem()),
        "lazy" => Some(lazy(native)),
        "lazy-pem" => Some(lazy(pem)),
        v => panic!("unknown variant {v}"),
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(h) = http {
        loader = loader.http_client(h);
    }
    let sdk = loader.load().await;
    let ddb = Arc::new(aws_sdk_dynamodb::Client::new(&sdk));
    let _sqs = aws_sdk_sqs::Client::new(&sdk);
    let init = t0.elapsed();
    println!("{{\"init_internal_us\": {}}}", init.as_micros());
    lambda_runtime::run(lambda_runtime::service_fn(move |_e: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let ddb = ddb.clone();
        async move {
            let t = Instant::now();
            let r = ddb.list_tables().send().await;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            println!("{{\"first_call_ms\": {ms:.2}, \"ok\": {}}}", r.is_ok());
            Ok::<_, lambda_runtime::Error>(json!({"firstCallMs": ms, "ok": r.is_ok()}))
        }
    }))
    .await
}
