//! Opening the connection for one request: to the address already resolved (and checked by the
//! caller against the address policy), directly or through the campaign's proxy, then TLS with
//! SNI = the host of the URL.
//!
//! Through a proxy (decision, see `fetch.rs` §Proxies):
//! - `socks5://`: CONNECT to the resolved IP (ATYP 1/4), never the name; no authentication.
//! - `http://` and an `https` URL: `CONNECT ip:port` (the tunnel goes to the resolved address),
//!   then TLS inside it with SNI = the domain.
//! - `http://` and an `http` URL: an absolute-form request (`GET http://domain:port/path`) on a
//!   connection to the proxy, which resolves the domain itself (RFC 9112 §3.2.2: a proxy
//!   replaces `Host` with the request-target's authority, so naming the IP there would lose the
//!   virtual host).
//!
//! The proxy's own addresses are resolved and checked once per fetcher (`fetch.rs`).
use std::net::SocketAddr;
use std::str::FromStr;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::result::{BLOCKED_ADDRESS, HttpStatus};
use crate::phases::keywords::persona::Scheme;

/// A byte stream a request can run on (TCP, or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Http,
    Socks5,
}

/// A proxy's address as stored (`http://host:port` or `socks5://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAddress {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
}

impl FromStr for ProxyAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, rest) = if let Some(rest) = s.strip_prefix("http://") {
            (ProxyKind::Http, rest)
        } else if let Some(rest) = s.strip_prefix("socks5://") {
            (ProxyKind::Socks5, rest)
        } else {
            return Err(format!(
                "{s:?}: a proxy is http://host:port or socks5://host:port"
            ));
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("{s:?}: no port"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{s:?}: bad port"))?;
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(format!("{s:?}: bad host"));
        }
        Ok(Self {
            kind,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// How requests leave: directly, or through a proxy at these (checked) addresses.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    Direct,
    Proxy(ProxyKind, Vec<SocketAddr>),
}

/// Why a request got no answer: the status and `error` it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: HttpStatus,
    pub error: Option<String>,
    pub http_status: Option<u16>,
}

impl Failure {
    pub fn unreachable(why: impl Into<String>) -> Self {
        Self {
            status: HttpStatus::Unreachable,
            error: Some(why.into()),
            http_status: None,
        }
    }

    pub fn error(why: impl Into<String>) -> Self {
        Self {
            status: HttpStatus::Error,
            error: Some(why.into()),
            http_status: None,
        }
    }

    pub fn blocked() -> Self {
        Self::error(BLOCKED_ADDRESS)
    }

    pub fn http(code: u16, why: Option<&str>) -> Self {
        Self {
            status: HttpStatus::Error,
            error: why.map(str::to_string),
            http_status: Some(code),
        }
    }
}

/// An open connection, and whether requests on it name the full URL (to an http proxy).
pub(crate) struct Opened {
    pub io: Box<dyn Io>,
    pub absolute_form: bool,
}

async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = "no address".to_string();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// Opens a connection for a request to `sni` (the URL's host) at one of `targets`.
pub(crate) async fn open(
    route: &Route,
    scheme: Scheme,
    sni: &str,
    targets: &[SocketAddr],
    tls: &TlsConnector,
) -> Result<Opened, Failure> {
    let tcp = match route {
        Route::Direct => connect_any(targets)
            .await
            .map_err(|e| Failure::unreachable(format!("connect: {e}")))?,
        Route::Proxy(ProxyKind::Http, proxies) if scheme == Scheme::Http => {
            let s = connect_any(proxies)
                .await
                .map_err(|e| Failure::unreachable(format!("proxy: connect: {e}")))?;
            return Ok(Opened {
                io: Box::new(s),
                absolute_form: true,
            });
        }
        Route::Proxy(kind, proxies) => {
            let mut last = Failure::unreachable("proxy: no address");
            let mut tunnel = None;
            for target in targets {
                let s = connect_any(proxies)
                    .await
                    .map_err(|e| Failure::unreachable(format!("proxy: connect: {e}")))?;
                let through = match kind {
                    ProxyKind::Http => http_connect(s, *target).await,
                    ProxyKind::Socks5 => socks5_connect(s, *target).await,
                };
                match through {
                    Ok(s) => {
                        tunnel = Some(s);
                        break;
                    }
                    Err(e) => last = Failure::unreachable(format!("proxy: {e}")),
                }
            }
            tunnel.ok_or(last)?
        }
    };
    let io: Box<dyn Io> = match scheme {
        Scheme::Http => Box::new(tcp),
        Scheme::Https => {
            let name = ServerName::try_from(sni.to_string())
                .map_err(|e| Failure::error(format!("{}: {e}", super::result::BAD_URL)))?;
            Box::new(
                tls.connect(name, tcp)
                    .await
                    .map_err(|e| Failure::unreachable(format!("tls: {e}")))?,
            )
        }
    };
    Ok(Opened {
        io,
        absolute_form: false,
    })
}

/// An HTTP CONNECT tunnel to `target` through a proxy connection.
async fn http_connect(mut s: TcpStream, target: SocketAddr) -> Result<TcpStream, String> {
    let authority = target.to_string();
    s.write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await
        .map_err(|e| format!("CONNECT: {e}"))?;
    let mut head = Vec::with_capacity(128);
    let mut chunk = [0u8; 512];
    loop {
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| format!("CONNECT: {e}"))?;
        if n == 0 {
            return Err("CONNECT: closed before answering".into());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if end + 4 != head.len() {
                return Err("CONNECT: data before the tunnel was used".into());
            }
            break;
        }
        if head.len() > 8192 {
            return Err("CONNECT: answer too long".into());
        }
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let code = line.split_whitespace().nth(1).unwrap_or_default();
    if line.starts_with("HTTP/1.") && code.len() == 3 && code.starts_with('2') {
        Ok(s)
    } else {
        Err(format!("CONNECT {authority} answered {line:?}"))
    }
}

/// A SOCKS5 (RFC 1928, no authentication) tunnel to `target`, named by its IP.
async fn socks5_connect(mut s: TcpStream, target: SocketAddr) -> Result<TcpStream, String> {
    let io = |e: std::io::Error| format!("socks5: {e}");
    s.write_all(&[5, 1, 0]).await.map_err(io)?;
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await.map_err(io)?;
    if choice != [5, 0] {
        return Err(format!(
            "socks5: the proxy wants authentication or is not SOCKS5 ({choice:?})"
        ));
    }
    let mut request = vec![5, 1, 0];
    match target {
        SocketAddr::V4(a) => {
            request.push(1);
            request.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            request.push(4);
            request.extend_from_slice(&a.ip().octets());
        }
    }
    request.extend_from_slice(&target.port().to_be_bytes());
    s.write_all(&request).await.map_err(io)?;
    let mut reply = [0u8; 4];
    s.read_exact(&mut reply).await.map_err(io)?;
    if reply[0] != 5 {
        return Err("socks5: not a SOCKS5 reply".into());
    }
    if reply[1] != 0 {
        let why = match reply[1] {
            1 => "general failure",
            2 => "not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unknown reply",
        };
        return Err(format!("socks5: {target}: {why}"));
    }
    let skip = match reply[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await.map_err(io)?;
            usize::from(len[0]) + 2
        }
        other => return Err(format!("socks5: bad address type {other}")),
    };
    let mut bound = vec![0u8; skip];
    s.read_exact(&mut bound).await.map_err(io)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_addresses_parse() {
        let p: ProxyAddress = "http://Proxy.example.com:3128".parse().unwrap();
        assert_eq!(
            p,
            ProxyAddress {
                kind: ProxyKind::Http,
                host: "proxy.example.com".into(),
                port: 3128
            }
        );
        let s: ProxyAddress = "socks5://127.0.0.1:1080".parse().unwrap();
        assert_eq!((s.kind, s.port), (ProxyKind::Socks5, 1080));
        for bad in [
            "ftp://x:1",
            "http://x",
            "http://:80",
            "http://x:0",
            "http://x:99999",
            "http://u@x:80",
        ] {
            assert!(bad.parse::<ProxyAddress>().is_err(), "{bad}");
        }
    }
}
