//! Name resolution the fetcher needs beyond what DNS validation resolved: the host of a redirect
//! to another host, and a proxy given by name. Never used for a domain's own address (that is
//! validation's). Every address a resolver returns still passes the address policy before it is
//! connected to.
//!
//! Implementations: the campaign's DNS persona ([`DnsValidator`], the same resolvers validation
//! used — the recommended one for the phase), the system resolver ([`SystemResolver`]), and a
//! fixed table ([`StaticResolver`], tests and benches).
use std::collections::HashMap;
use std::net::IpAddr;

use futures_util::future::BoxFuture;

use crate::phases::validation::{DnsStatus, DnsValidator};

/// Resolves a host name to addresses (`Err`: a short reason; an empty list is an error too).
pub trait HostResolver: Send + Sync {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, String>>;
}

impl HostResolver for DnsValidator {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, String>> {
        Box::pin(async move {
            let check = self.check(host).await;
            match check.status {
                DnsStatus::Resolved => Ok(check.addresses),
                DnsStatus::Unresolved => Err("no address".into()),
                DnsStatus::Error => Err(check.error.unwrap_or_else(|| "dns error".into())),
            }
        })
    }
}

/// The operating system's resolver (`getaddrinfo` through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, String>> {
        Box::pin(async move {
            let addrs: Vec<IpAddr> = tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| e.to_string())?
                .map(|a| a.ip())
                .collect();
            if addrs.is_empty() {
                Err("no address".into())
            } else {
                Ok(addrs)
            }
        })
    }
}

/// A fixed table of names (lowercase, no trailing dot) to addresses; anything else is unknown.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver(pub HashMap<String, Vec<IpAddr>>);

impl StaticResolver {
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, IpAddr)>) -> Self {
        let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (name, ip) in entries {
            map.entry(name.to_ascii_lowercase()).or_default().push(ip);
        }
        Self(map)
    }
}

impl HostResolver for StaticResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, String>> {
        let key = host.trim_end_matches('.').to_ascii_lowercase();
        let found = self.0.get(&key).cloned();
        Box::pin(async move { found.ok_or_else(|| "no address".to_string()) })
    }
}
