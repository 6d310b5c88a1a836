//! What can go wrong for the agent, in words the window can show.

/// Result alias for this crate.
pub type Result<T, E = AgentError> = std::result::Result<T, E>;

/// An agent-facing error; [`AgentError::kind`] lets the UI tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Not signed in (or the session expired).
    #[error("not signed in: sign in to the central store first")]
    NotSignedIn,
    /// No recording policy is known for the project: nothing may be recorded.
    #[error(
        "no recording policy for project {project:?}: the store could not be reached and none is cached, so this call is not recorded"
    )]
    NoPolicy {
        /// The project.
        project: String,
    },
    /// The store cannot be reached and the settings cached for the project are older than the
    /// offline limit (POLICY.md §8): nothing may be recorded.
    #[error(
        "the recording settings cached for project {project:?} were last confirmed by the store on {}, more than {days} days ago, and the store cannot be reached: this call is not recorded (the settings may have changed to record less)",
        confirmed_at.date()
    )]
    CachedPolicyTooOld {
        /// The project.
        project: String,
        /// When the store last confirmed them.
        confirmed_at: time::OffsetDateTime,
        /// The limit.
        days: u8,
    },
    /// Only agents take recorded calls (the store accepts recordings from agents only).
    #[error("only agents take calls here; you are signed in as a {role}")]
    NotAnAgent {
        /// The user's role.
        role: String,
    },
    /// A call is already in progress.
    #[error("a call is already in progress; end it first")]
    CallInProgress,
    /// No call is in progress.
    #[error("no call is in progress")]
    NoCall,
    /// A recording rate the app does not offer.
    #[error("recording rate {rate} Hz is not offered; choose one of {allowed}")]
    InvalidRate {
        /// The rate asked for.
        rate: u32,
        /// The rates offered, in words.
        allowed: String,
    },
    /// Recordings are waiting for another store: signing in elsewhere would send them there.
    #[error(
        "{count} recording(s) are still waiting to upload to {server}; sign in to that store until they are uploaded, then change the server"
    )]
    PendingForOtherServer {
        /// The store they belong to.
        server: String,
        /// How many.
        count: usize,
    },
    /// The store has no recording by that id that this user may hear (POLICY.md 8: the
    /// store does not say which).
    #[error(
        "this recording cannot be played: it does not exist, it has expired, or you may not listen to it"
    )]
    RecordingUnavailable,
    /// The softphone could not do what was asked (a refused call, a registrar's answer, a
    /// bad address), in words.
    #[error("phone: {0}")]
    Phone(String),
    /// The store refused or could not be reached.
    #[error(transparent)]
    Store(#[from] callrec_uploader::UploadError),
    /// The recorder or an audio device failed.
    #[error(transparent)]
    Recorder(#[from] callrec_recorder::RecorderError),
    /// The local queue failed.
    #[error(transparent)]
    Outbox(#[from] callrec_outbox::OutboxError),
    /// A file of the agent's data folder could not be read or written.
    #[error("{what}: {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

impl AgentError {
    /// A stable machine name for the UI: `not_signed_in`, `no_policy`, `cached_policy_too_old`,
    /// `not_an_agent`, `call_in_progress`,
    /// `no_call`, `invalid_rate`, `pending_for_other_server`,
    /// `recording_unavailable`, `phone`, `store`, `recorder`, `outbox`, `io`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotSignedIn => "not_signed_in",
            Self::NoPolicy { .. } => "no_policy",
            Self::CachedPolicyTooOld { .. } => "cached_policy_too_old",
            Self::NotAnAgent { .. } => "not_an_agent",
            Self::CallInProgress => "call_in_progress",
            Self::NoCall => "no_call",
            Self::InvalidRate { .. } => "invalid_rate",
            Self::PendingForOtherServer { .. } => "pending_for_other_server",
            Self::RecordingUnavailable => "recording_unavailable",
            Self::Phone(_) => "phone",
            Self::Store(_) => "store",
            Self::Recorder(_) => "recorder",
            Self::Outbox(_) => "outbox",
            Self::Io { .. } => "io",
        }
    }
}
