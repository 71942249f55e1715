//! DNS resolution for the validation phase: `hickory-resolver` against the resolvers of the
//! campaign's DNS persona, with the persona's concurrency, rate limit and timeout.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::persona::DnsPersonaConfig;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsStatus {
    /// A or AAAA records exist.
    Resolved,
    /// NXDOMAIN, or the name exists without addresses.
    Unresolved,
    /// The resolvers did not give an answer: time-out, refused, server failure.
    Error,
}

impl DnsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::Unresolved => "unresolved",
            Self::Error => "error",
        }
    }
}

/// The result for one domain, as stored next to the chunk's domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsCheck {
    #[serde(rename = "s")]
    pub status: DnsStatus,
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<IpAddr>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub struct DnsValidator {
    resolver: Resolver<TokioRuntimeProvider>,
    concurrency: usize,
    interval: Duration,
}

impl DnsValidator {
    pub fn new(config: &DnsPersonaConfig) -> Result<Self, AppError> {
        let servers = config
            .resolvers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp])
            })
            .collect();
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_millis(config.timeout_ms);
        opts.attempts = 1;
        opts.cache_size = 0;
        opts.ndots = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        opts.num_concurrent_reqs = 1;
        let resolver = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
        .with_options(opts)
        .build()
        .map_err(|e| AppError::internal(format!("resolver: {e}")))?;
        Ok(Self {
            resolver,
            concurrency: config.concurrency.max(1),
            interval: Duration::from_secs(1) / config.rate_limit_per_second.max(1),
        })
    }

    /// Resolves one name (as a fully qualified name, so no search domain is appended).
    pub async fn check(&self, domain: &str) -> DnsCheck {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.lookup_ip(fqdn.as_str()).await {
            Ok(lookup) => {
                let mut addresses: Vec<IpAddr> = lookup.iter().collect();
                addresses.sort();
                addresses.dedup();
                let status = if addresses.is_empty() {
                    DnsStatus::Unresolved
                } else {
                    DnsStatus::Resolved
                };
                DnsCheck {
                    status,
                    addresses,
                    error: None,
                }
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(no)))
                if matches!(
                    no.response_code,
                    ResponseCode::NXDomain | ResponseCode::NoError
                ) =>
            {
                DnsCheck {
                    status: DnsStatus::Unresolved,
                    addresses: vec![],
                    error: None,
                }
            }
            Err(NetError::Timeout) => DnsCheck {
                status: DnsStatus::Error,
                addresses: vec![],
                error: Some("timeout".into()),
            },
            Err(NetError::Dns(DnsError::ResponseCode(code))) => DnsCheck {
                status: DnsStatus::Error,
                addresses: vec![],
                error: Some(code.to_string().to_lowercase()),
            },
            Err(e) => DnsCheck {
                status: DnsStatus::Error,
                addresses: vec![],
                error: Some(e.to_string()),
            },
        }
    }

    /// Resolves every domain, at most `concurrency` at once and `rateLimitPerSecond` started per
    /// second. A domain not answered by `deadline` is an `error` ("deadline"), so a chunk always
    /// finishes within the function's time.
    pub async fn check_all(&self, domains: &[String], deadline: Instant) -> Vec<DnsCheck> {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut pace = tokio::time::interval(self.interval);
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let pace = Mutex::new(pace);
        let runs = domains.iter().map(|domain| {
            let permits = permits.clone();
            let pace = &pace;
            async move {
                let work = async {
                    let _permit = permits.acquire().await.ok();
                    pace.lock().await.tick().await;
                    self.check(domain).await
                };
                match tokio::time::timeout_at(deadline, work).await {
                    Ok(check) => check,
                    Err(_) => DnsCheck {
                        status: DnsStatus::Error,
                        addresses: vec![],
                        error: Some("deadline".into()),
                    },
                }
            }
        });
        futures_util::future::join_all(runs).await
    }
}
