//! The `callrec` command. Each subcommand is a thin edge over the library crates: it reads
//! its inputs, calls one library function and prints the result.

mod data;
mod devices;
mod inputs;
mod login;
mod outbox;
mod phone;
mod record;
mod recover;
mod server;
mod simulate;
mod upload;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for input that cannot be used (POLICY.md §9).
pub(crate) const EXIT_UNREADABLE: u8 = 2;

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

Record a scripted call from audio files (or, with --live, from input devices):

  callrec record --settings S.json --events E.jsonl --agent agent.wav \\
                 --customer customer.wav --out calls/0001

Run `callrec simulate --help` for the file formats.";

#[derive(Debug, Subcommand)]
enum Command {
    Simulate(simulate::Args),
    Record(record::Args),
    Recover(recover::Args),
    Server(server::Args),
    Login(login::Args),
    Upload(upload::Args),
    Outbox(outbox::Args),
    Devices(devices::Args),
    Call(phone::CallArgs),
    Answer(phone::AnswerArgs),
}

fn main() -> ExitCode {
    callrec_agent::private_files();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CALLREC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match cli.command {
        Command::Simulate(args) => simulate::run(&args),
        Command::Record(args) => record::run(&args),
        Command::Recover(args) => recover::run(&args),
        Command::Server(args) => server::run(&args),
        Command::Login(args) => login::run(&args),
        Command::Upload(args) => upload::run(&args),
        Command::Outbox(args) => outbox::run(&args),
        Command::Devices(args) => devices::run(&args),
        Command::Call(args) => phone::call(&args),
        Command::Answer(args) => phone::answer(&args),
    }
}

/// Prints one error line and returns `code`.
pub(crate) fn fail(message: &str, code: u8) -> ExitCode {
    let line = message.replace('\n', " ");
    let _ = writeln!(std::io::stderr().lock(), "error: {line}");
    ExitCode::from(code)
}

/// Writes `text` and a newline to stdout.
pub(crate) fn print(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`callrec ... | head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write to stdout: {e}"), 1),
    }
}
