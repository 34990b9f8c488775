//! Which addresses the centre may post a webhook to: never link-local, cloud metadata,
//! multicast or unspecified addresses; loopback and private ranges only where an
//! installation allows them (tests, demos, a receiver inside the centre's own network).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ValueError;

/// Where an address lies, as far as posting to it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressScope {
    /// A globally routed address.
    Global,
    /// Loopback, a private or shared range, or a documentation range: reachable only
    /// inside an installation's own network. The text names the range.
    Internal(&'static str),
    /// Never a webhook target: link-local, cloud metadata, multicast, unspecified,
    /// reserved. The text names the range.
    Forbidden(&'static str),
}

/// Cloud providers' instance metadata services, whatever range they sit in.
const METADATA_V4: [(Ipv4Addr, &str); 4] = [
    (
        Ipv4Addr::new(169, 254, 169, 254),
        "a cloud metadata address (169.254.169.254)",
    ),
    (
        Ipv4Addr::new(100, 100, 100, 200),
        "a cloud metadata address (100.100.100.200)",
    ),
    (
        Ipv4Addr::new(168, 63, 129, 16),
        "a cloud platform address (168.63.129.16)",
    ),
    (
        Ipv4Addr::new(192, 0, 0, 192),
        "a cloud metadata address (192.0.0.192)",
    ),
];

/// The scope of an IPv4 address.
fn scope_v4(ip: Ipv4Addr) -> AddressScope {
    use AddressScope::{Forbidden, Global, Internal};
    if let Some((_, what)) = METADATA_V4.iter().find(|(m, _)| *m == ip) {
        return Forbidden(what);
    }
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (0, _, _) => Forbidden("the unspecified network (0.0.0.0/8)"),
        (169, 254, _) => Forbidden("link-local (169.254.0.0/16)"),
        (192, 0, 0) => Forbidden("IETF protocol assignments (192.0.0.0/24)"),
        (224..=239, _, _) => Forbidden("multicast (224.0.0.0/4)"),
        (240..=255, _, _) => Forbidden("reserved or broadcast (240.0.0.0/4)"),
        (127, _, _) => Internal("loopback (127.0.0.0/8)"),
        (10, _, _) => Internal("private (10.0.0.0/8)"),
        (172, 16..=31, _) => Internal("private (172.16.0.0/12)"),
        (192, 168, _) => Internal("private (192.168.0.0/16)"),
        (100, 64..=127, _) => Internal("shared address space (100.64.0.0/10)"),
        (198, 18..=19, _) => Internal("benchmarking (198.18.0.0/15)"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Internal("documentation (RFC 5737)"),
        _ => Global,
    }
}

/// The scope of an IPv6 address; addresses that embed an IPv4 address (mapped,
/// compatible, NAT64, 6to4) take that address's scope.
fn scope_v6(ip: Ipv6Addr) -> AddressScope {
    use AddressScope::{Forbidden, Global, Internal};
    if let Some(v4) = ip.to_ipv4_mapped() {
        return scope_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => Forbidden("unspecified (::)"),
        [0, 0, 0, 0, 0, 0, 0, 1] => Internal("loopback (::1)"),
        // IPv4-compatible (deprecated), NAT64 and 6to4 reach an IPv4 address.
        [0, 0, 0, 0, 0, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            scope_v4(embedded(hi, lo))
        }
        [0x2002, hi, lo, ..] => scope_v4(embedded(hi, lo)),
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254] => {
            Forbidden("a cloud metadata address (fd00:ec2::254)")
        }
        [0x2001, 0, ..] => Forbidden("a Teredo tunnel (2001::/32)"),
        [0x2001, 0x0db8, ..] => Internal("documentation (2001:db8::/32)"),
        [first, ..] if first & 0xffc0 == 0xfe80 => Forbidden("link-local (fe80::/10)"),
        [first, ..] if first & 0xff00 == 0xff00 => Forbidden("multicast (ff00::/8)"),
        [first, ..] if first & 0xffc0 == 0xfec0 => Internal("site-local (fec0::/10)"),
        [first, ..] if first & 0xfe00 == 0xfc00 => Internal("unique local (fc00::/7)"),
        [0x0100, 0, 0, 0, ..] => Internal("discard-only (100::/64)"),
        _ => Global,
    }
}

/// The scope of an address.
pub fn address_scope(ip: IpAddr) -> AddressScope {
    match ip {
        IpAddr::V4(v4) => scope_v4(v4),
        IpAddr::V6(v6) => scope_v6(v6),
    }
}

/// Which webhook targets an installation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookTargets {
    /// Whether loopback and private ranges may be posted to (`[webhooks] allow_private`).
    pub allow_private: bool,
}

impl WebhookTargets {
    /// Checks one address a webhook would connect to.
    pub fn check(&self, ip: IpAddr) -> Result<(), ValueError> {
        match address_scope(ip) {
            AddressScope::Global => Ok(()),
            AddressScope::Internal(_) if self.allow_private => Ok(()),
            AddressScope::Internal(what) => Err(ValueError::new(format!(
                "`{ip}` is {what}; webhooks go only to public addresses unless the settings allow private ones (`[webhooks] allow_private = true`)"
            ))),
            AddressScope::Forbidden(what) => Err(ValueError::new(format!(
                "`{ip}` is {what}; webhooks never go there"
            ))),
        }
    }

    /// Checks the host of a webhook URL as far as it can be known without looking it up:
    /// an address literal, or `localhost`. A name is checked again, against every address
    /// it resolves to, whenever the webhook is sent.
    pub fn check_host(&self, host: &url::Host<&str>) -> Result<(), ValueError> {
        match host {
            url::Host::Ipv4(ip) => self.check(IpAddr::V4(*ip)),
            url::Host::Ipv6(ip) => self.check(IpAddr::V6(*ip)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.');
                let local = name.eq_ignore_ascii_case("localhost")
                    || name.to_ascii_lowercase().ends_with(".localhost");
                if local && !self.allow_private {
                    Err(ValueError::new(format!(
                        "`{name}` is loopback; webhooks go only to public addresses unless the settings allow private ones (`[webhooks] allow_private = true`)"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> AddressScope {
        address_scope(text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }

    #[test]
    fn metadata_link_local_and_the_like_are_never_targets() {
        for forbidden in [
            "169.254.169.254",
            "169.254.1.1",
            "100.100.100.200",
            "168.63.129.16",
            "192.0.0.192",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fe80::1",
            "ff02::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "::169.254.169.254",
            "2001:0:4136:e378::1",
        ] {
            assert!(
                matches!(scope(forbidden), AddressScope::Forbidden(_)),
                "{forbidden}: {:?}",
                scope(forbidden)
            );
            let open = WebhookTargets {
                allow_private: true,
            };
            assert!(
                open.check(
                    forbidden
                        .parse()
                        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
                )
                .is_err()
            );
        }
    }

    #[test]
    fn private_ranges_only_where_allowed() {
        let closed = WebhookTargets::default();
        let open = WebhookTargets {
            allow_private: true,
        };
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "192.0.2.10",
            "::1",
            "fd12:3456::1",
            "2001:db8::5",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = internal
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(
                matches!(address_scope(ip), AddressScope::Internal(_)),
                "{internal}"
            );
            assert!(closed.check(ip).is_err(), "{internal}");
            assert!(open.check(ip).is_ok(), "{internal}");
        }
        for global in ["93.184.216.34", "172.32.0.1", "2a00:1450::1", "8.8.8.8"] {
            assert_eq!(scope(global), AddressScope::Global, "{global}");
        }
        assert!(closed.check_host(&url::Host::Domain("localhost")).is_err());
        assert!(
            closed
                .check_host(&url::Host::Domain("hooks.localhost."))
                .is_err()
        );
        assert!(open.check_host(&url::Host::Domain("localhost")).is_ok());
        assert!(
            closed
                .check_host(&url::Host::Domain("hooks.example"))
                .is_ok()
        );
    }
}
