//! Errors as the window receives them: `{kind, message}`, so it can tell "no policy" from
//! "not signed in" from "the microphone failed".

use serde::Serialize;

/// An error for the UI.
#[derive(Debug, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// A stable machine name (see `callrec_agent::AgentError::kind`).
    pub kind: &'static str,
    /// What happened, in words.
    pub message: String,
}

impl From<callrec_agent::AgentError> for CommandError {
    fn from(e: callrec_agent::AgentError) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<callrec_audio::AudioError> for CommandError {
    fn from(e: callrec_audio::AudioError) -> Self {
        Self {
            kind: "audio",
            message: e.to_string(),
        }
    }
}

/// Result of a command.
pub type CommandResult<T> = Result<T, CommandError>;
