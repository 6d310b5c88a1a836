//! What can go wrong in a call, in words a log line or the agent can use.

/// Result alias for this crate.
pub type Result<T, E = SipError> = std::result::Result<T, E>;

/// A softphone error.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    /// The peer's session description could not be read.
    #[error("the peer's SDP is not valid: {0}")]
    BadSdp(String),
    /// The peer offers no audio codec callrec speaks.
    #[error(
        "the peer offers no codec callrec speaks (offered: {offered}; callrec speaks PCMU, PCMA and Opus)"
    )]
    NoCommonCodec {
        /// The peer's payload types, as offered.
        offered: String,
    },
    /// A network socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Nobody answered in time; the call was cancelled.
    #[error("{to} did not answer within {} s; the call was cancelled", after.as_secs())]
    NoAnswer {
        /// Whom the call was for.
        to: String,
        /// How long it rang.
        after: std::time::Duration,
    },
    /// The call was called off (CANCEL) while it rang.
    #[error("the call to {to} was cancelled while it rang")]
    CalledOff {
        /// Whom the call was for.
        to: String,
    },
    /// The registrar refused the registration.
    #[error(
        "{registrar} refused the registration: {status} (check the SIP user name and password)"
    )]
    Registration {
        /// The registrar.
        registrar: String,
        /// Its final status.
        status: String,
    },
    /// The SIP stack failed or the peer refused.
    #[error("SIP: {0}")]
    Signalling(String),
}
