//! Real servers on 127.0.0.1 for the fetcher's tests: a page server answering per `Host` (plain
//! or TLS with a test CA), an HTTP forward proxy (CONNECT and absolute-form) and a SOCKS5 proxy.
//! The proxies connect onwards from source address 127.0.0.2, so the page server can tell every
//! request that came through a proxy (peer 127.0.0.2) from a direct one (peer 127.0.0.1); each
//! proxy also logs what it carried.
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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
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

/// What a proxy carried: CONNECT / SOCKS5 targets as sent, absolute-form URLs.
#[derive(Debug, Default, Clone)]
pub struct ProxyLog {
    pub tunnels: Vec<String>,
    pub forwarded: Vec<String>,
}

/// An HTTP forward proxy or a SOCKS5 proxy. `hosts` is its own "DNS" for names it is given.
pub struct Proxy {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<ProxyLog>>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn http(hosts: HashMap<String, SocketAddr>) -> Self {
        Self::start("127.0.0.1:0", hosts, false).await
    }

    pub async fn socks5(hosts: HashMap<String, SocketAddr>) -> Self {
        Self::start("127.0.0.1:0", hosts, true).await
    }

    pub async fn start(bind: &str, hosts: HashMap<String, SocketAddr>, socks: bool) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(ProxyLog::default()));
        let (task_log, hosts) = (log.clone(), Arc::new(hosts));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (log, hosts) = (task_log.clone(), hosts.clone());
                tokio::spawn(async move {
                    let _ = if socks {
                        socks5(client, &log, &hosts).await
                    } else {
                        http_proxy(client, &log, &hosts).await
                    };
                });
            }
        });
        Self { addr, log, task }
    }

    pub fn log(&self) -> ProxyLog {
        self.log.lock().unwrap().clone()
    }

    pub fn carried(&self) -> usize {
        let log = self.log();
        log.tunnels.len() + log.forwarded.len()
    }
}

async fn onwards(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{PROXY_SOURCE}:0").parse().unwrap())?;
    socket.connect(addr).await
}

fn lookup(hosts: &HashMap<String, SocketAddr>, host: &str, port: u16) -> Option<SocketAddr> {
    match host.parse::<IpAddr>() {
        Ok(ip) => Some(SocketAddr::new(ip, port)),
        Err(_) => hosts.get(host).map(|a| SocketAddr::new(a.ip(), port)),
    }
}

async fn http_proxy(
    mut client: TcpStream,
    log: &Mutex<ProxyLog>,
    hosts: &HashMap<String, SocketAddr>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = request_line.split(' ').collect();
    let (method, target, version) = (parts[0], parts[1], parts[2]);
    if method == "CONNECT" {
        log.lock().unwrap().tunnels.push(target.to_string());
        let (host, port) = target.rsplit_once(':').unwrap();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let upstream = match lookup(hosts, host, port.parse().unwrap()) {
            Some(addr) => onwards(addr).await.ok(),
            None => None,
        };
        let Some(mut upstream) = upstream else {
            client
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                .await?;
            return Ok(());
        };
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    log.lock().unwrap().forwarded.push(target.to_string());
    let url = url::Url::parse(target).unwrap();
    let addr = lookup(
        hosts,
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap(),
    );
    let Some(Ok(mut upstream)) = (match addr {
        Some(a) => Some(onwards(a).await),
        None => None,
    }) else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            .await?;
        return Ok(());
    };
    let mut forward = format!(
        "{method} {}{} {version}\r\n",
        url.path(),
        url.query().map(|q| format!("?{q}")).unwrap_or_default()
    );
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name != "connection" && name != "proxy-connection" {
            forward.push_str(line);
            forward.push_str("\r\n");
        }
    }
    forward.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forward.as_bytes()).await?;
    tokio::io::copy(&mut upstream, &mut client).await?;
    client.shutdown().await
}

async fn socks5(
    mut client: TcpStream,
    log: &Mutex<ProxyLog>,
    hosts: &HashMap<String, SocketAddr>,
) -> std::io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await?;
    client.write_all(&[5, 0]).await?;
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    let (host, addr_len) = match req[3] {
        1 => (None, 4),
        4 => (None, 16),
        _ => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            (Some(()), usize::from(len[0]))
        }
    };
    let mut raw = vec![0u8; addr_len];
    client.read_exact(&mut raw).await?;
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let port = u16::from_be_bytes(port);
    let host = match (host, addr_len) {
        (Some(()), _) => String::from_utf8_lossy(&raw).to_string(),
        (None, 4) => IpAddr::from(<[u8; 4]>::try_from(raw.as_slice()).unwrap()).to_string(),
        (None, _) => IpAddr::from(<[u8; 16]>::try_from(raw.as_slice()).unwrap()).to_string(),
    };
    log.lock().unwrap().tunnels.push(format!("{host}:{port}"));
    let upstream = match lookup(hosts, &host, port) {
        Some(a) => onwards(a).await.ok(),
        None => None,
    };
    let Some(mut upstream) = upstream else {
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
