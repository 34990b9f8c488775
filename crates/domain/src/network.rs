//! What an organisation owns on the network: IP prefixes, autonomous systems, domains.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::ValueError;

/// An IPv4 or IPv6 network in CIDR notation with no bits set beyond the mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpPrefix(IpNet);

impl IpPrefix {
    /// Parses `192.0.2.0/24` or `2001:db8::/32`; `192.0.2.1/24` is an error.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let net: IpNet = text.parse().map_err(|_| {
            ValueError::new(format!(
                "`{text}` is not an IP prefix in CIDR notation (for example `192.0.2.0/24`)"
            ))
        })?;
        if net.trunc() != net {
            return Err(ValueError::new(format!(
                "`{text}` has bits set beyond its mask (did you mean `{}`?)",
                net.trunc()
            )));
        }
        Ok(Self(net))
    }

    /// Whether the address lies inside this prefix.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.contains(&addr)
    }

    /// Prefix length in bits.
    pub fn bits(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether this is an IPv6 prefix.
    pub fn is_ipv6(&self) -> bool {
        matches!(self.0, IpNet::V6(_))
    }

    /// First address of the prefix.
    pub fn network(&self) -> IpAddr {
        self.0.network()
    }

    /// Last address of the prefix.
    pub fn last(&self) -> IpAddr {
        self.0.broadcast()
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An autonomous system number (not 0, 23456 (AS_TRANS) or 4294967295, which are reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Asn(u32);

impl Asn {
    /// Checks a number.
    pub fn new(number: u64) -> Result<Self, ValueError> {
        match u32::try_from(number) {
            Ok(n) if n != 0 && n != 23456 && n != u32::MAX => Ok(Self(n)),
            _ => Err(ValueError::new(format!(
                "`{number}` is not a usable AS number (1 to 4294967294, not 23456)"
            ))),
        }
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AS{}", self.0)
    }
}

/// A DNS domain name, lowercase, at least two labels; it covers itself and every name below
/// it on a label boundary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// Parses a domain name (letters, digits and hyphens per label; IDNs in `xn--` form);
    /// upper case is folded to lower case.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let lower = text.to_ascii_lowercase();
        let labels: Vec<&str> = lower.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
        if lower.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok {
            Ok(Self(lower))
        } else {
            Err(ValueError::new(format!(
                "`{text}` is not a domain name (for example `hospital-south.example`)"
            )))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `host` is this domain or lies below it on a label boundary
    /// (`a.hospital-south.example` is covered by `hospital-south.example`,
    /// `xhospital-south.example` is not). Case-insensitive; a trailing dot is ignored.
    pub fn covers(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.len() < self.0.len() {
            return false;
        }
        let (head, tail) = host.split_at(host.len() - self.0.len());
        tail.eq_ignore_ascii_case(&self.0) && (head.is_empty() || head.ends_with('.'))
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() -> Result<(), ValueError> {
        let p = IpPrefix::parse("192.0.2.0/24")?;
        assert_eq!(p.bits(), 24);
        assert!(p.contains("192.0.2.77".parse().map_err(|_| ValueError::new("ip"))?));
        assert!(IpPrefix::parse("192.0.2.1/24").is_err());
        assert!(IpPrefix::parse("192.0.2.0").is_err());
        assert!(IpPrefix::parse("2001:db8:10::/48")?.is_ipv6());
        assert!(IpPrefix::parse("2001:db8:10::1/48").is_err());
        assert!(IpPrefix::parse("300.0.0.0/8").is_err());
        Ok(())
    }

    #[test]
    fn asns() {
        assert!(Asn::new(64500).is_ok());
        assert!(Asn::new(0).is_err());
        assert!(Asn::new(23456).is_err());
        assert!(Asn::new(u64::from(u32::MAX)).is_err());
        assert!(Asn::new(1 << 40).is_err());
    }

    #[test]
    fn domains_match_on_label_boundaries() -> Result<(), ValueError> {
        let d = DomainName::parse("Hospital-South.example")?;
        assert_eq!(d.as_str(), "hospital-south.example");
        assert!(d.covers("hospital-south.example"));
        assert!(d.covers("a.hospital-south.example"));
        assert!(d.covers("A.HOSPITAL-SOUTH.EXAMPLE."));
        assert!(!d.covers("xhospital-south.example"));
        assert!(!d.covers("south.example"));
        for bad in [
            "localhost",
            "-a.example",
            "a..example",
            "a_b.example",
            "example.123",
            "",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
