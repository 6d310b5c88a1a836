//! `callrec upload`: queue recordings and push everything queued to the central store.

use std::path::PathBuf;
use std::process::ExitCode;

/// Queue recorded call folders (from `callrec record`) in the local outbox, then upload
/// everything queued to the store signed in with `callrec login`. With no DIR, it retries
/// what is queued. A local copy is deleted only once the store has confirmed it by checksum,
/// or when it expires. Exit status 0 only when nothing is left to upload.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Call folders to queue.
    #[arg(value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Allow plain http:// to a store off this machine (a test lab only: passwords and
    /// recordings then cross the network unencrypted). Same as CALLREC_INSECURE_HTTP=1.
    #[arg(long)]
    insecure_http: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    if args.insecure_http {
        callrec_agent::allow_insecure_http();
    }
    let session = match crate::data::session() {
        Ok(s) => s,
        Err(e) => return crate::fail(&e, 1),
    };
    for dir in &args.dirs {
        if let Err(e) = session.queue(dir) {
            return crate::fail(&e.to_string(), crate::EXIT_UNREADABLE);
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return crate::fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    // A manual run tries everything pending now, whatever its backoff says.
    match runtime.block_on(session.upload_once(true)) {
        Ok(report) if report.pending == 0 => crate::print(&format!(
            "{} stored, {} expired (deleted): every recording is in the store",
            report.stored, report.expired
        )),
        Ok(report) => crate::fail(
            &format!(
                "{} stored, {} failed: {} recording(s) still queued; see `callrec outbox`",
                report.stored, report.failed, report.pending
            ),
            1,
        ),
        Err(e) => crate::fail(&e.to_string(), 1),
    }
}
