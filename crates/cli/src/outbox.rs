//! `callrec outbox`: what is waiting to be uploaded, and why.

use std::process::ExitCode;

/// Show the local queue of recordings: each call's state (queued, uploading, uploaded,
/// deleted, failed), attempts and last error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let entries =
        match crate::data::session().and_then(|s| s.queue_entries().map_err(|e| e.to_string())) {
            Ok(e) => e,
            Err(e) => return crate::fail(&e, 1),
        };
    if args.json {
        return match serde_json::to_string_pretty(&entries) {
            Ok(json) => crate::print(&json),
            Err(e) => crate::fail(&e.to_string(), 1),
        };
    }
    if entries.is_empty() {
        return crate::print("the outbox is empty");
    }
    let mut text = format!(
        "{:36}  {:9}  {:>8}  last error",
        "call", "state", "attempts"
    );
    for e in &entries {
        text.push_str(&format!(
            "\n{}  {:9}  {:>8}  {}",
            e.call_id,
            e.state.as_str(),
            e.attempts,
            e.last_error.as_deref().unwrap_or("")
        ));
    }
    crate::print(&text)
}
