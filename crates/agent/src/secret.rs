//! The session token, kept out of the local database (which holds recordings' metadata and
//! is copied around in support cases): in a file only this user may read (0600), replaced
//! whole on each sign-in and removed at sign-out.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{AgentError, Result};

/// The token's file in the data folder.
const FILE: &str = "session.token";

/// Where the signed-in session's token is kept.
#[derive(Debug, Clone)]
pub(crate) struct TokenStore {
    file: PathBuf,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> AgentError {
    let path = path.to_owned();
    move |source| AgentError::Io { what, path, source }
}

impl TokenStore {
    pub(crate) fn new(data: &Path) -> Self {
        Self {
            file: data.join(FILE),
        }
    }

    /// The token, if a session is remembered.
    pub(crate) fn load(&self) -> Result<Option<String>> {
        match std::fs::read_to_string(&self.file) {
            Ok(token) => Ok(Some(token.trim().to_owned()).filter(|t| !t.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("reading the session", &self.file)(e)),
        }
    }

    /// Keeps `token`: written to a new file readable by this user only, then moved over the
    /// old one, so no other user ever sees it and a crash leaves the old or the new.
    pub(crate) fn save(&self, token: &str) -> Result<()> {
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

    /// Forgets the token.
    pub(crate) fn forget(&self) -> Result<()> {
        match std::fs::remove_file(&self.file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io("forgetting the session", &self.file)(e))
            }
            _ => Ok(()),
        }
    }
}
