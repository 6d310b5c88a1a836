//! Where the agent machine keeps its data: `$CALLREC_DATA`, else the platform data
//! directory's `callrec/` (`$XDG_DATA_HOME/callrec` or `~/.local/share/callrec`).

use std::path::PathBuf;

use callrec_outbox::Outbox;

/// Setting keys the CLI keeps in the outbox.
pub const SERVER: &str = "server";
/// The session token.
pub const TOKEN: &str = "token";
/// Who signed in.
pub const USER: &str = "user";

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

/// The outbox database, `callrec.db` in the data folder.
pub fn outbox() -> Result<Outbox, String> {
    let path = dir().join("callrec.db");
    Outbox::open(&path).map_err(|e| format!("{}: {e}", path.display()))
}
