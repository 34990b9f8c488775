//! A generator of Shadowserver-style `scan_http` rows and of a registry whose prefixes come
//! from real routing tables (`../shared/data/asn/`), for the feed benchmark and its small
//! version in the tests.
#![allow(dead_code, reason = "the benchmark and the test use different parts")]

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// The columns of Shadowserver's `scan_http` report.
pub const HEADER: &str = "timestamp,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,http,http_code,http_reason,content_type,connection,www_authenticate,set_cookie,server,content_length,transfer_encoding,http_date,version,severity\n";

/// A registry to import, and its prefixes for the generator.
pub struct GeneratedRegistry {
    /// The registry file (FORMATS.md).
    pub json: String,
    /// IPv4 prefixes: (first address, size).
    pub v4: Vec<(u32, u64)>,
    /// IPv6 prefixes: (first address, size capped at 2^64).
    pub v6: Vec<(u128, u64)>,
}

/// A small, fast, deterministic generator.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn routing_table(path: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()?;
    if !out.status.success() {
        return Err(format!("gzip -dc {} failed", path.display()).into());
    }
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next().map(str::to_owned))
        .collect())
}

/// `organisations` organisations holding `prefixes` prefixes in all, one in ten IPv6, taken
/// evenly from the real routing tables; ten sectors, each with a linking organisation
/// (secrecy guarantee on file) serving it.
pub fn registry(
    data: &Path,
    organisations: usize,
    prefixes: usize,
) -> Result<GeneratedRegistry, Box<dyn std::error::Error>> {
    let mut v4_text: Vec<String> = routing_table(&data.join("ipasn_20140513.dat.gz"))?;
    let mut v6_text: Vec<String> = routing_table(&data.join("ipasn6_20151101.dat.gz"))?
        .into_iter()
        .filter(|p| p.contains(':'))
        .collect();
    v4_text.sort();
    v4_text.dedup();
    v6_text.sort();
    v6_text.dedup();
    let want_v6 = (prefixes / 10).min(v6_text.len());
    let want_v4 = prefixes - want_v6;
    let pick = |all: &[String], n: usize| -> Vec<String> {
        let step = (all.len() as f64 / n.max(1) as f64).max(1.0);
        (0..n)
            .filter_map(|i| all.get((i as f64 * step) as usize).cloned())
            .collect()
    };
    let v4_chosen = pick(&v4_text, want_v4);
    let v6_chosen = pick(&v6_text, want_v6);
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let mut per_org: Vec<Vec<String>> = vec![Vec::new(); organisations];
    for (i, p) in v4_chosen.iter().chain(v6_chosen.iter()).enumerate() {
        let (addr, len) = p.split_once('/').ok_or("prefix without length")?;
        let len: u32 = len.parse()?;
        if let Ok(a) = addr.parse::<Ipv4Addr>() {
            v4.push((u32::from(a), 1u64 << (32 - len.min(32))));
        } else if let Ok(a) = addr.parse::<Ipv6Addr>() {
            v6.push((u128::from(a), 1u64 << (128 - len.min(128)).min(63)));
        }
        if let Some(list) = per_org.get_mut(i % organisations) {
            list.push(p.clone());
        }
    }
    let sectors = [
        "energy",
        "health",
        "drinking_water",
        "digital_infrastructure",
        "banking",
        "public_administration",
        "transport",
        "food",
        "manufacturing",
        "research",
    ];
    let mut entries = Vec::with_capacity(organisations + sectors.len());
    for (i, prefixes) in per_org.iter().enumerate() {
        let sector = sectors[i % sectors.len()];
        entries.push(serde_json::json!({
            "slug": format!("org-{i:06}"),
            "name": format!("Organisation {i:06}"),
            "sectors": [sector],
            "jurisdiction": "NL",
            "designations": [{"status": if i % 2 == 0 { "essential_entity" } else { "other_provider" }, "from": "2026-08-15", "until": null}],
            "secrecy": null,
            "prefixes": prefixes,
            "contacts": [{"name": "SOC", "email": format!("soc@org-{i:06}.example"), "pgp_key": null, "webhook_url": null}],
        }));
    }
    for sector in sectors {
        entries.push(serde_json::json!({
            "slug": format!("isac-{}", sector.replace('_', "-")),
            "name": format!("ISAC {sector}"),
            "sectors": [sector],
            "jurisdiction": "NL",
            "designations": [{"status": "linking_organisation", "from": "2023-01-01", "until": null}],
            "secrecy": {"basis": "covenant", "from": "2023-01-01", "until": null},
            "serves": {"sectors": [sector], "organisations": []},
            "contacts": [{"name": "Desk", "email": format!("desk@isac-{}.example", sector.replace('_', "-")), "pgp_key": null, "webhook_url": null}],
        }));
    }
    Ok(GeneratedRegistry {
        json: serde_json::to_string(&entries)?,
        v4,
        v6,
    })
}

fn push_num(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Writes `rows` rows (after the header): 90 % from the registered prefixes (one in ten of
/// those IPv6), 10 % from unregistered space, one in twenty a repeat of an earlier host and
/// port; severities mostly info, some medium, high and critical.
pub fn write_rows(
    out: &mut impl Write,
    r: &GeneratedRegistry,
    rows: u64,
    seed: u64,
) -> std::io::Result<()> {
    let mut rng = Lcg(seed);
    out.write_all(HEADER.as_bytes())?;
    let mut line: Vec<u8> = Vec::with_capacity(512);
    let mut recent: Vec<(Vec<u8>, u64)> = Vec::with_capacity(1024);
    let servers: [&[u8]; 4] = [
        b"nginx/1.18.0",
        b"Apache/2.4.41 (Ubuntu)",
        b"Microsoft-IIS/10.0",
        b"lighttpd/1.4.55",
    ];
    let codes: [(&[u8], &[u8]); 4] = [
        (b"200", b"OK"),
        (b"301", b"Moved Permanently"),
        (b"403", b"Forbidden"),
        (b"404", b"Not Found"),
    ];
    let mut buffer = Vec::with_capacity(1 << 20);
    for n in 0..rows {
        line.clear();
        line.extend_from_slice(b"2026-11-21 03:");
        push_num(&mut line, 10 + rng.below(50));
        line.extend_from_slice(b":");
        push_num(&mut line, 10 + rng.below(50));
        line.push(b',');
        let choice = rng.below(100);
        let (ip, port) = if choice < 5 && !recent.is_empty() {
            let i = rng.below(recent.len() as u64) as usize;
            recent[i].clone()
        } else {
            let mut ip = Vec::with_capacity(40);
            if choice < 86 || r.v6.is_empty() {
                let (start, size) = r.v4[rng.below(r.v4.len() as u64) as usize];
                let a = Ipv4Addr::from(start.wrapping_add(rng.below(size) as u32));
                let _ = write!(ip, "{a}");
            } else if choice < 95 {
                let (start, size) = r.v6[rng.below(r.v6.len() as u64) as usize];
                let a = Ipv6Addr::from(start.wrapping_add(u128::from(rng.below(size))));
                let _ = write!(ip, "{a}");
            } else {
                // Carrier-grade NAT space: in no routing table.
                let a = Ipv4Addr::from(0x6440_0000u32 | (rng.below(1 << 22) as u32));
                let _ = write!(ip, "{a}");
            }
            let port = [80u64, 443, 8080, 8443][rng.below(4) as usize];
            if recent.len() < 1024 {
                recent.push((ip.clone(), port));
            } else {
                let i = rng.below(1024) as usize;
                recent[i] = (ip.clone(), port);
            }
            (ip, port)
        };
        line.extend_from_slice(&ip);
        line.extend_from_slice(b",tcp,");
        push_num(&mut line, port);
        line.push(b',');
        if rng.below(10) < 3 {
            line.extend_from_slice(b"host-");
            push_num(&mut line, n % 100_000);
            line.extend_from_slice(b".isp.example");
        }
        line.extend_from_slice(b",,");
        push_num(&mut line, 1000 + rng.below(60_000));
        line.extend_from_slice(b",NL,NOORD-HOLLAND,AMSTERDAM,0,,,HTTP/1.1,");
        let (code, reason) = codes[rng.below(4) as usize];
        line.extend_from_slice(code);
        line.push(b',');
        line.extend_from_slice(reason);
        line.extend_from_slice(b",text/html; charset=utf-8,keep-alive,,,");
        line.extend_from_slice(servers[rng.below(4) as usize]);
        line.push(b',');
        push_num(&mut line, 200 + rng.below(20_000));
        line.extend_from_slice(b",,\"Sat, 21 Nov 2026 03:12:44 GMT\",HTTP/1.1,");
        let s = rng.below(100);
        line.extend_from_slice(if s < 70 {
            b"info"
        } else if s < 85 {
            b"medium"
        } else if s < 95 {
            b"high"
        } else {
            b"critical"
        });
        line.push(b'\n');
        buffer.extend_from_slice(&line);
        if buffer.len() > (1 << 20) - 600 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)?;
    out.flush()
}
