//! How long `schakel rulebook check` takes per shipped rulebook, and how many combinations
//! of facts it evaluates per second.
//!
//! `cargo bench -p schakel-rulebook --bench check [-- --rounds N]`
//!
//! Each round loads the rulebooks afresh (so nothing is cached between rounds) and checks
//! each one: compiling its policies into tables with Cedar, sweeping the space on every core,
//! and deciding a sample again with the engine. Printed: the best and worst round.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::{Duration, Instant};

use schakel_rulebook::{EffectiveDates, RulebookSet, check};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let mut rounds = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            rounds = args.next().ok_or("--rounds needs a number")?.parse()?;
        }
    }
    let ids: Vec<String> = RulebookSet::defaults(EffectiveDates::default())?
        .rulebooks()
        .iter()
        .map(|b| b.id().to_owned())
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); ids.len()];
    let mut combinations = vec![0u64; ids.len()];
    for _ in 0..rounds.max(1) {
        let set = RulebookSet::defaults(EffectiveDates::default())?;
        for (k, book) in set.rulebooks().iter().enumerate() {
            let started = Instant::now();
            let report = check(book)?;
            let took = started.elapsed();
            if let Some(t) = times.get_mut(k) {
                t.push(took);
            }
            if let Some(c) = combinations.get_mut(k) {
                *c = report.combinations;
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("rulebook check, {rounds} rounds, {cores} cores");
    for ((id, t), n) in ids.iter().zip(&times).zip(&combinations) {
        let best = t.iter().min().copied().unwrap_or_default();
        let worst = t.iter().max().copied().unwrap_or_default();
        let rate = *n as f64 / best.as_secs_f64().max(f64::EPSILON);
        println!(
            "{id:>10}: {n:>11} combinations in {:.2}–{:.2} s ({:.1} million/s at best)",
            best.as_secs_f64(),
            worst.as_secs_f64(),
            rate / 1e6
        );
    }
    Ok(())
}
