//! Real servers on 127.0.0.1 for the fetcher's tests: a page server answering per `Host` (plain
//! or TLS with a test CA), an HTTP forward proxy (CONNECT and absolute-form) and a SOCKS5 proxy.
//! The proxies connect onwards from source address 127.0.0.2, so the page server can tell every
//! request that came through a proxy (peer 127.0.0.2) from a direct one (peer 127.0.0.1); each
//! proxy also logs what it carried (`proxies.rs`).
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The source address proxies connect onwards from.
pub const PROXY_SOURCE: &str = "127.0.0.2";

/// One canned answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Page {
    pub fn html(body: &str) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type", "text/html; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    pub fn redirect(status: u16, location: &str) -> Self {
        Self {
            status,
            headers: vec![("location", location.into())],
            body: b"moved".to_vec(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            body: b"<title>Oops</title><p>sale</p>".to_vec(),
            delay: Duration::ZERO,
        }
    }

    pub fn slow(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

struct Pages {
    table: HashMap<(String, String), Page>,
    fallback: Page,
}

/// A request the page server answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub host: String,
    pub path: String,
    pub peer: IpAddr,
    pub sni: Option<String>,
    pub headers: http::HeaderMap,
}

#[derive(Default)]
pub struct Stats {
    pub seen: Mutex<Vec<Seen>>,
    pub connections: AtomicUsize,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

/// Answers `(host, path)` with its page (404 for anything else); `Host` is read without port,
/// and `PORT` in a header value is the server's port.
pub struct PageServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PageServer {
    pub async fn start(pages: Vec<(&str, &str, Page)>, tls: Option<Arc<ServerConfig>>) -> Self {
        Self::start_with(pages, tls, Page::status(404)).await
    }

    /// Answers `fallback` to anything not in `pages`.
    pub async fn start_with(
        pages: Vec<(&str, &str, Page)>,
        tls: Option<Arc<ServerConfig>>,
        fallback: Page,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pages: Arc<Pages> = Arc::new(Pages {
            table: pages
                .into_iter()
                .map(|(h, p, page)| ((h.to_string(), p.to_string()), page))
                .collect(),
            fallback,
        });
        let stats = Arc::new(Stats::default());
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let (st, task_stats) = (stats.clone(), stats.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    return;
                };
                task_stats.connections.fetch_add(1, Ordering::SeqCst);
                let (pages, stats, acceptor) = (pages.clone(), st.clone(), acceptor.clone());
                let port = addr.port();
                tokio::spawn(async move {
                    match acceptor {
                        None => serve(stream, peer.ip(), port, None, pages, stats).await,
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(stream).await else {
                                return;
                            };
                            let sni = tls.get_ref().1.server_name().map(str::to_string);
                            serve(tls, peer.ip(), port, sni, pages, stats).await
                        }
                    }
                });
            }
        });
        Self { addr, stats, task }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.stats.seen.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.stats.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }
}

async fn serve<S>(
    stream: S,
    peer: IpAddr,
    port: u16,
    sni: Option<String>,
    pages: Arc<Pages>,
    stats: Arc<Stats>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let (pages, stats, sni) = (pages.clone(), stats.clone(), sni.clone());
        async move {
            let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let host = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            let host = host
                .rsplit_once(':')
                .map_or(host, |(h, _)| h)
                .to_ascii_lowercase();
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default();
            stats.seen.lock().unwrap().push(Seen {
                host: host.clone(),
                path: path.clone(),
                peer,
                sni,
                headers: req.headers().clone(),
            });
            let page = pages
                .table
                .get(&(host, path))
                .unwrap_or(&pages.fallback)
                .clone();
            tokio::time::sleep(page.delay).await;
            let mut res = Response::builder().status(page.status);
            for (n, v) in &page.headers {
                res = res.header(*n, v.replace("PORT", &port.to_string()));
            }
            stats.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, std::convert::Infallible>(res.body(Full::new(Bytes::from(page.body))).unwrap())
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A CA for the tests and a server config with a certificate for `names` signed by it.
pub struct TestCa {
    pub roots: RootCertStore,
    pub server: Arc<ServerConfig>,
}

pub fn test_ca(names: &[&str]) -> TestCa {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(ca_cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    TestCa {
        roots,
        server: Arc::new(server),
    }
}

mod proxies;
pub use proxies::{Proxy, ProxyLog};
