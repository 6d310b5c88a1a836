//! Recorder errors.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = RecorderError> = std::result::Result<T, E>;

/// What went wrong while recording, classified by what the caller does next.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The output folder already holds a recording: it is never overwritten.
    #[error(
        "{0} already holds a recording; choose an empty folder (recordings are never overwritten)"
    )]
    AlreadyRecorded(PathBuf),
    /// A file could not be written or read (full disk, permissions, ...).
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The WAV encoder failed.
    #[error("writing {path}: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: hound::Error,
    },
    /// A journal left by a crash cannot be read.
    #[error("cannot recover {path}: {why}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// An audio input failed.
    #[error(transparent)]
    Audio(#[from] callrec_audio::AudioError),
}

impl RecorderError {
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn wav(path: &std::path::Path) -> impl FnOnce(hound::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Wav { path, source }
    }

    /// Whether retrying cannot help (the disk is full or the folder is unusable), as opposed
    /// to a transient failure.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::Interrupted)
    }
}
