//! Where the agent machine keeps its data: `$CALLREC_DATA`, else the platform data
//! directory's `callrec/` (`$XDG_DATA_HOME/callrec` or `~/.local/share/callrec`). The CLI
//! opens the same agent [`Session`] as the desktop app over it.

use std::path::PathBuf;

use callrec_agent::Session;

/// The data folder.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CALLREC_DATA").filter(|d| !d.is_empty()) {
        return d.into();
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("callrec");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/callrec")
}

/// The agent's session over the data folder (the recording rate matters only for calls,
/// which the CLI's session does not make).
pub fn session() -> Result<Session, String> {
    let dir = dir();
    Session::open(&dir, 16_000).map_err(|e| format!("{}: {e}", dir.display()))
}
