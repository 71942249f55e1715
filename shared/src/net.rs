//! Address safety, in one place for every outgoing connection a phase makes (DNS resolvers of a
//! persona, the `keywords` phase's fetches and their redirects): only public unicast addresses,
//! unless the operator allows a range with `ALLOWED_PRIVATE_CIDRS` (comma-separated CIDRs; the
//! local stack sets `127.0.0.0/8` so its tests can run). The Lambda Runtime API
//! (`AWS_LAMBDA_RUNTIME_API`) is refused whatever is allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

use ipnet::IpNet;

/// Which addresses outgoing connections may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
    never: Option<SocketAddr>,
}

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked(pub String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AddressPolicy {
    /// `allowed`: CIDRs allowed beyond the public ones.
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self {
            allowed,
            never: None,
        }
    }

    /// Parses `ALLOWED_PRIVATE_CIDRS`-style text; `Err` names the entry that is not a CIDR.
    pub fn parse(text: &str) -> Result<Self, String> {
        let allowed = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not a CIDR"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(allowed))
    }

    /// The process's policy, read once from the environment (a bad value is a configuration
    /// error that stops the function at its first use rather than silently allowing less or more).
    pub fn from_env() -> &'static AddressPolicy {
        static POLICY: OnceLock<AddressPolicy> = OnceLock::new();
        POLICY.get_or_init(|| {
            let text = std::env::var("ALLOWED_PRIVATE_CIDRS").unwrap_or_default();
            let mut policy =
                Self::parse(&text).unwrap_or_else(|e| panic!("ALLOWED_PRIVATE_CIDRS: {e}"));
            policy.never = std::env::var("AWS_LAMBDA_RUNTIME_API")
                .ok()
                .and_then(|v| v.parse().ok());
            policy
        })
    }

    /// Whether `addr` may be connected to.
    pub fn check(&self, addr: SocketAddr) -> Result<(), Blocked> {
        if self.never == Some(addr) {
            return Err(Blocked("the Lambda Runtime API".into()));
        }
        self.check_ip(addr.ip())
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        let ip = canonical(ip);
        if self.allowed.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        match non_public_reason(ip) {
            None => Ok(()),
            Some(why) => Err(Blocked(format!("{ip} is {why}"))),
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u8) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, bits: u8) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

/// Why an address is not public unicast (IANA special-purpose registries), or `None`.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            const V4: &[([u8; 4], u8, &str)] = &[
                ([0, 0, 0, 0], 8, "in \"this network\" (0.0.0.0/8)"),
                ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
                ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
                ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
                (
                    [169, 254, 0, 0],
                    16,
                    "link-local (169.254.0.0/16, the instance metadata range)",
                ),
                ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
                (
                    [192, 0, 0, 0],
                    24,
                    "reserved for IETF protocols (192.0.0.0/24)",
                ),
                ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
                ([192, 88, 99, 0], 24, "reserved (192.88.99.0/24)"),
                ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
                ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
                ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
                ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
                ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
                ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
            ];
            V4.iter()
                .find(|(net, bits, _)| in_v4(v4, *net, *bits))
                .map(|(_, _, why)| *why)
        }
        IpAddr::V6(v6) => {
            let v6net = |s: &str| s.parse::<Ipv6Addr>().expect("a literal IPv6 network");
            let table: [(&str, u8, &'static str); 10] = [
                ("::", 128, "unspecified (::)"),
                ("::1", 128, "loopback (::1)"),
                ("64:ff9b::", 96, "NAT64 (64:ff9b::/96)"),
                ("64:ff9b:1::", 48, "local NAT64 (64:ff9b:1::/48)"),
                ("100::", 64, "discard-only (100::/64)"),
                ("2001::", 23, "reserved for IETF protocols (2001::/23)"),
                ("2001:db8::", 32, "documentation (2001:db8::/32)"),
                ("fc00::", 7, "unique local (fc00::/7)"),
                ("fe80::", 10, "link-local (fe80::/10)"),
                ("ff00::", 8, "multicast (ff00::/8)"),
            ];
            table
                .iter()
                .find(|(net, bits, _)| in_v6(v6, v6net(net), *bits))
                .map(|(_, _, why)| *why)
                .or_else(|| {
                    (u128::from(v6) >> 125 != 0b001)
                        .then_some("not global unicast (outside 2000::/3)")
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(p: &AddressPolicy, s: &str) -> bool {
        p.check_ip(s.parse().unwrap()).is_err()
    }

    #[test]
    fn only_public_unicast_passes_by_default() {
        let p = AddressPolicy::default();
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.7",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "2001:db8::1",
        ] {
            assert!(blocked(&p, bad), "{bad} must be blocked");
        }
        for good in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111"] {
            assert!(!blocked(&p, good), "{good} must pass");
        }
    }

    #[test]
    fn allowed_ranges_open_exactly_those() {
        let p = AddressPolicy::parse("127.0.0.0/8, 10.0.0.5").unwrap();
        assert!(!blocked(&p, "127.0.0.53"));
        assert!(!blocked(&p, "10.0.0.5"));
        assert!(blocked(&p, "10.0.0.6"));
        assert!(blocked(&p, "169.254.169.254"));
        assert!(AddressPolicy::parse("127.0.0.0/8,nope").is_err());
        let mut runtime = AddressPolicy::parse("127.0.0.0/8").unwrap();
        runtime.never = Some("127.0.0.1:9001".parse().unwrap());
        assert!(runtime.check("127.0.0.1:9001".parse().unwrap()).is_err());
        assert!(runtime.check("127.0.0.1:9002".parse().unwrap()).is_ok());
    }
}
