//! The `schakel` command.

mod args;
mod clock;
mod commands;
mod config;
mod decide;
mod feeds;
mod files;
mod items;
mod output;
mod reports;
mod rulebook;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = args::Cli::parse();
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
