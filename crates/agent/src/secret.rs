//! The session token, kept out of the local database (which holds recordings' metadata and
//! is copied around in support cases): in the platform's secret store where one answers
//! (Secret Service on Linux, the Keychain on macOS, the Credential Manager on Windows), else
//! in a file only this user may read (0600), replaced whole on each sign-in.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{AgentError, Result};

/// The token's file in the data folder, where no secret store answers.
const FILE: &str = "session.token";
/// The secret store's service name for callrec's sessions.
const SERVICE: &str = "callrec";

/// Where the signed-in session's token is kept.
#[derive(Debug, Clone)]
pub(crate) struct TokenStore {
    file: PathBuf,
    /// The secret store's account: one session per data folder.
    account: String,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> AgentError {
    let path = path.to_owned();
    move |source| AgentError::Io { what, path, source }
}

impl TokenStore {
    pub(crate) fn new(data: &Path) -> Self {
        let data = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
        Self {
            file: data.join(FILE),
            account: format!("session {}", data.display()),
        }
    }

    fn entry(&self) -> Option<keyring::Entry> {
        keyring::Entry::new(SERVICE, &self.account).ok()
    }

    /// The token, if a session is remembered.
    pub(crate) fn load(&self) -> Result<Option<String>> {
        if let Some(entry) = self.entry() {
            match entry.get_password() {
                Ok(token) => return Ok(Some(token)),
                Err(keyring::Error::NoEntry) => {}
                Err(e) => tracing::debug!(error = %e, "no secret store; the session is in a file"),
            }
        }
        match std::fs::read_to_string(&self.file) {
            Ok(token) => Ok(Some(token.trim().to_owned()).filter(|t| !t.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("reading the session", &self.file)(e)),
        }
    }

    /// Keeps `token`: in the secret store if one answers (and then no file holds it), else
    /// written to a new file readable by this user only and moved over the old one, so no
    /// other user ever sees it and a crash leaves the old or the new.
    pub(crate) fn save(&self, token: &str) -> Result<()> {
        if let Some(entry) = self.entry() {
            match entry.set_password(token) {
                Ok(()) => return self.forget_file(),
                Err(e) => tracing::info!(error = %e, "no secret store; the session goes in a file"),
            }
        }
        let part = self.file.with_extension("part");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&part)
            .map_err(io("saving the session", &part))?;
        file.write_all(token.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io("saving the session", &part))?;
        std::fs::rename(&part, &self.file).map_err(io("saving the session", &self.file))
    }

    /// Forgets the token, wherever it is.
    pub(crate) fn forget(&self) -> Result<()> {
        if let Some(entry) = self.entry()
            && let Err(e) = entry.delete_credential()
            && !matches!(e, keyring::Error::NoEntry)
        {
            tracing::debug!(error = %e, "the secret store did not answer");
        }
        self.forget_file()
    }

    fn forget_file(&self) -> Result<()> {
        match std::fs::remove_file(&self.file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io("forgetting the session", &self.file)(e))
            }
            _ => Ok(()),
        }
    }
}
