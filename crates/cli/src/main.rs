//! The `callrec` command. Each subcommand is a thin edge over the library crates: it reads
//! its inputs, calls one library function and prints the result.

mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// callrec: a call-recording softphone for contact-center agents, and its central store.
#[derive(Debug, Parser)]
#[command(name = "callrec", version, about, long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const LONG_ABOUT: &str = "\
callrec records exactly what a project's recording settings allow: the agent's voice, the
customer's voice, both, or nothing, with pause/resume, voice receipts and conference rules.

Check a project's recording settings before go-live, without placing a call:

  callrec simulate --settings examples/policy/cc-both/settings.json \\
                   --events examples/policy/cc-both/events.jsonl

Run `callrec simulate --help` for the file formats.";

#[derive(Debug, Subcommand)]
enum Command {
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate(args) => simulate::run(&args),
    }
}
