//! Upload errors, classified by what the caller does next.

/// Result alias for this crate.
pub type Result<T, E = UploadError> = std::result::Result<T, E>;

/// Why a request to the store failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The network or the store is down or overloaded: retry later.
    #[error("the store is unreachable or busy ({0}); will retry")]
    Transient(String),
    /// The session is missing or expired: sign in again.
    #[error("not signed in, or the session expired: run `callrec login` again")]
    Unauthorized,
    /// The call is past its expiry: the store refuses it; delete the local copy.
    #[error("the call has expired; the store no longer accepts it")]
    Expired,
    /// The store refused the request for good (bad data, no permission): a person must look.
    #[error("the store refused: {code}: {message}")]
    Refused {
        /// The store's error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// A local file could not be read.
    #[error("{path}: {source}")]
    Local {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl UploadError {
    /// Whether retrying later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }

    pub(crate) fn local(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Local { path, source }
    }
}

impl From<reqwest::Error> for UploadError {
    fn from(e: reqwest::Error) -> Self {
        // The whole chain: "error sending request" alone does not say what to do.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        // A certificate nobody vouches for does not get better by retrying.
        if message.contains("certificate") {
            return Self::Refused {
                code: "untrusted_certificate".into(),
                message: format!(
                    "the store's TLS certificate is not trusted ({message}); if it is signed by your company's own CA, give that CA's PEM file in CALLREC_CA"
                ),
            };
        }
        // Connection refused, reset, timeouts, a body cut short: all worth retrying.
        Self::Transient(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transport_failures_are_retried() {
        assert!(UploadError::Transient("connection refused".into()).is_transient());
        assert!(!UploadError::Expired.is_transient());
        assert!(!UploadError::Unauthorized.is_transient());
        assert!(
            !UploadError::Refused {
                code: "invalid_sidecar".into(),
                message: String::new()
            }
            .is_transient()
        );
    }
}
