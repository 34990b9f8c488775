//! Who owns an event: the organisation holding the longest registered prefix covering its
//! address (IPv4 and IPv6), else the one holding a registered domain its host name falls
//! under, else the one holding its ASN. Built once per run from the registry, in memory.
//!
//! Prefixes are flattened into disjoint intervals, each owned by the most specific prefix
//! covering it, so a lookup is one binary search.

use std::collections::HashMap;
use std::net::IpAddr;

use schakel_domain::{Date, OrgSlug, Registry};

/// An interval of addresses owned by one organisation: (first, last, organisation index).
type Interval<T> = (T, T, u32);

/// Flattens nested prefixes into disjoint intervals, the most specific owner winning.
fn flatten<T>(mut prefixes: Vec<Interval<T>>, one: T) -> Vec<Interval<T>>
where
    T: Copy + Ord + std::ops::Add<Output = T> + std::ops::Sub<Output = T>,
{
    // Outer prefixes first at the same start.
    prefixes.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<Interval<T>> = Vec::with_capacity(prefixes.len() * 2);
    let mut stack: Vec<(T, u32)> = Vec::new();
    // The first address not yet given to an interval, if any remain.
    let mut cursor: Option<T> = None;
    let emit = |out: &mut Vec<Interval<T>>, from: Option<T>, to: T, org: u32| {
        if let Some(from) = from
            && from <= to
        {
            out.push((from, to, org));
        }
    };
    let after = |t: T, max: T| if t == max { None } else { Some(t + one) };
    let max = prefixes.iter().map(|p| p.1).max();
    let Some(max) = max else { return out };
    for (start, end, org) in prefixes {
        while let Some(&(top_end, top_org)) = stack.last() {
            if top_end >= start {
                break;
            }
            emit(&mut out, cursor, top_end, top_org);
            cursor = after(top_end, max);
            stack.pop();
        }
        if let Some(&(_, top_org)) = stack.last()
            && start > cursor.unwrap_or(start)
        {
            emit(&mut out, cursor, start - one, top_org);
        }
        cursor = Some(start);
        stack.push((end, org));
    }
    while let Some((top_end, top_org)) = stack.pop() {
        emit(&mut out, cursor, top_end, top_org);
        cursor = after(top_end, max);
    }
    out
}

fn find<T: Copy + Ord>(intervals: &[Interval<T>], addr: T) -> Option<u32> {
    let i = intervals.partition_point(|iv| iv.0 <= addr);
    let iv = intervals.get(i.checked_sub(1)?)?;
    (addr <= iv.1).then_some(iv.2)
}

/// IPv4 intervals, laid out for lookup: starts, ends and owners in separate arrays, and
/// for each /16 the first interval starting in or after it, so a lookup searches only the
/// few intervals near its address.
#[derive(Debug, Clone, Default)]
struct V4Table {
    starts: Vec<u32>,
    ends: Vec<u32>,
    owners: Vec<u32>,
    /// 65,537 entries: `first[b]` is the first interval whose start is at or after `b << 16`.
    first: Vec<u32>,
}

impl V4Table {
    fn new(intervals: &[Interval<u32>]) -> Self {
        let starts: Vec<u32> = intervals.iter().map(|i| i.0).collect();
        let first = (0..=65_536u64)
            .map(|b| {
                let at = starts.partition_point(|s| u64::from(*s) < (b << 16));
                u32::try_from(at).unwrap_or(u32::MAX)
            })
            .collect();
        Self {
            ends: intervals.iter().map(|i| i.1).collect(),
            owners: intervals.iter().map(|i| i.2).collect(),
            starts,
            first,
        }
    }

    #[inline]
    fn find(&self, addr: u32) -> Option<u32> {
        let bucket = (addr >> 16) as usize;
        let lo = self.first.get(bucket).copied()? as usize;
        let hi = self.first.get(bucket + 1).copied()? as usize;
        // The interval holding `addr` starts in this /16 (at or before `addr`) or is the
        // last one starting before it.
        let within = self.starts.get(lo..hi)?.partition_point(|s| *s <= addr);
        let i = (lo + within).checked_sub(1)?;
        (addr <= *self.ends.get(i)?)
            .then(|| self.owners.get(i).copied())
            .flatten()
    }
}

/// The owner index of every registered prefix, domain and ASN.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    organisations: Vec<OrgSlug>,
    v4: V4Table,
    v6: Vec<Interval<u128>>,
    domains: HashMap<Box<str>, u32>,
    asns: HashMap<u32, u32>,
    prefixes: usize,
}

impl Resolver {
    /// From the organisations of the registry not ended on `on`. An ASN held by several
    /// organisations resolves to none of them.
    pub fn new(registry: &Registry, on: Date) -> Self {
        let mut organisations = Vec::new();
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let mut domains = HashMap::new();
        let mut asns: HashMap<u32, Option<u32>> = HashMap::new();
        for org in registry.iter().filter(|o| !o.is_ended_on(on)) {
            let Ok(index) = u32::try_from(organisations.len()) else {
                break;
            };
            organisations.push(org.slug().clone());
            for p in org.prefixes() {
                match (p.network(), p.last()) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => v4.push((u32::from(a), u32::from(b), index)),
                    (IpAddr::V6(a), IpAddr::V6(b)) => {
                        v6.push((u128::from(a), u128::from(b), index))
                    }
                    _ => {}
                }
            }
            for d in org.domains() {
                domains.insert(d.as_str().to_ascii_lowercase().into_boxed_str(), index);
            }
            for a in org.asns() {
                asns.entry(a.get())
                    .and_modify(|held| {
                        if *held != Some(index) {
                            *held = None;
                        }
                    })
                    .or_insert(Some(index));
            }
        }
        let prefixes = v4.len() + v6.len();
        Self {
            organisations,
            v4: V4Table::new(&flatten(v4, 1)),
            v6: flatten(v6, 1),
            domains,
            asns: asns
                .into_iter()
                .filter_map(|(a, o)| Some((a, o?)))
                .collect(),
            prefixes,
        }
    }

    /// The organisations, by index.
    pub fn organisations(&self) -> &[OrgSlug] {
        &self.organisations
    }

    /// How many prefixes were registered.
    pub fn prefixes(&self) -> usize {
        self.prefixes
    }

    /// The owner of an address.
    #[inline]
    pub fn address(&self, addr: IpAddr) -> Option<u32> {
        match addr {
            IpAddr::V4(a) => self.v4.find(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.v4.find(u32::from(v4)),
                None => find(&self.v6, u128::from(a)),
            },
        }
    }

    /// The owner of a host name: the registered domain it equals or falls under.
    pub fn host(&self, host: &str) -> Option<u32> {
        let host = host.trim().trim_end_matches('.');
        if host.is_empty() {
            return None;
        }
        let lower;
        let mut name: &str = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = host.to_ascii_lowercase();
            &lower
        } else {
            host
        };
        loop {
            if let Some(org) = self.domains.get(name) {
                return Some(*org);
            }
            name = name.split_once('.')?.1;
        }
    }

    /// The owner of an ASN.
    pub fn asn(&self, asn: u32) -> Option<u32> {
        self.asns.get(&asn).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_prefix_wins_and_gaps_stay_unowned() {
        // 10.0.0.0/8 (org 0) holds 10.1.0.0/16 (org 1), which holds 10.1.2.0/24 (org 2).
        let ivs = flatten(
            vec![
                (0x0A00_0000, 0x0AFF_FFFF, 0),
                (0x0A01_0000, 0x0A01_FFFF, 1),
                (0x0A01_0200, 0x0A01_02FF, 2),
                (0x0C00_0000, 0x0C00_00FF, 3),
            ],
            1u32,
        );
        let at = |a: u32| find(&ivs, a);
        assert_eq!(at(0x0A00_0001), Some(0));
        assert_eq!(at(0x0A01_0001), Some(1));
        assert_eq!(at(0x0A01_0200), Some(2));
        assert_eq!(at(0x0A01_02FF), Some(2));
        assert_eq!(at(0x0A01_0300), Some(1));
        assert_eq!(at(0x0A02_0000), Some(0));
        assert_eq!(at(0x0AFF_FFFF), Some(0));
        assert_eq!(at(0x0B00_0000), None);
        assert_eq!(at(0x0C00_0080), Some(3));
        assert_eq!(at(0x0C00_0100), None);
        assert_eq!(at(0), None);
        // Disjoint and sorted.
        assert!(ivs.windows(2).all(|w| w[0].1 < w[1].0));
    }

    #[test]
    fn the_whole_space_and_its_last_address() {
        let ivs = flatten(vec![(0, u32::MAX, 0), (u32::MAX, u32::MAX, 1)], 1u32);
        assert_eq!(find(&ivs, u32::MAX), Some(1));
        let table = V4Table::new(&ivs);
        assert_eq!(table.find(u32::MAX), Some(1));
        assert_eq!(table.find(0x1234_5678), Some(0));
        assert_eq!(find(&ivs, u32::MAX - 1), Some(0));
        assert_eq!(find(&ivs, 0), Some(0));
    }

    #[test]
    fn agrees_with_a_linear_scan_on_random_nests() {
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..50 {
            let mut prefixes = Vec::new();
            for org in 0..40u32 {
                let len = 8 + next(17) as u32;
                let start = (next(1 << 16) as u32) << 16 & (u32::MAX << (32 - len));
                let end = start | (u32::MAX >> len);
                prefixes.push((start, end, org));
            }
            // No two identical prefixes (the registry refuses them).
            prefixes.sort();
            prefixes.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
            let ivs = flatten(prefixes.clone(), 1u32);
            let table = V4Table::new(&ivs);
            for _ in 0..2000 {
                let addr = (next(1 << 32)) as u32;
                assert_eq!(table.find(addr), find(&ivs, addr), "{addr:#x}");
                let want = prefixes
                    .iter()
                    .filter(|p| p.0 <= addr && addr <= p.1)
                    .min_by_key(|p| p.1 - p.0)
                    .map(|p| p.2);
                assert_eq!(find(&ivs, addr), want, "{addr:#x}");
            }
        }
    }
}
