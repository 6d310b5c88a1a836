//! `callrec recover`: complete recordings a crash interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

/// Complete call folders a crash (power loss, kill -9, full disk) interrupted: repair their
/// WAV files, keeping every whole frame on disk, replay their journals, end each call where
/// its audio ends, and write recording.json marked "recovered". Folders with nothing to
/// recover are left as they are.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Call folders (as given to `callrec record --out`).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

/// Runs the command; exit 1 if any folder could not be recovered.
pub fn run(args: &Args) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for dir in &args.dirs {
        match callrec_recorder::recover(dir) {
            Ok(Some(sidecar)) => {
                let _ = crate::record::summary(dir, &sidecar);
            }
            Ok(None) => tracing::info!(dir = %dir.display(), "nothing to recover"),
            Err(e) => status = crate::fail(&e.to_string(), 1),
        }
    }
    status
}
