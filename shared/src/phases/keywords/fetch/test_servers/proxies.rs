//! The test proxies: an HTTP forward proxy (CONNECT and absolute-form) and a SOCKS5 proxy, each
//! connecting onwards from [`super::PROXY_SOURCE`] and logging what it carried.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use super::PROXY_SOURCE;

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
