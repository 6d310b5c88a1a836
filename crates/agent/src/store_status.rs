//! Whether the central store can be reached, as every request to it finds out. The window
//! shows an offline banner from this: recordings stay queued and calls are still recorded
//! under the cached recording settings.

use callrec_uploader::UploadError;
use serde::Serialize;
use time::OffsetDateTime;

/// The store as the app last found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreState {
    /// Not asked yet (or not signed in).
    Unknown,
    /// The store answered.
    Online,
    /// The network or the store is down.
    Offline,
    /// The store no longer accepts this session: sign in again.
    SessionExpired,
}

/// [`StoreState`] with when it began and what the last failure said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreView {
    /// Reachable or not.
    pub state: StoreState,
    /// Since when (the first failure of an outage; the first answer after one).
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// The last failure, in words.
    pub message: Option<String>,
}

impl Default for StoreView {
    fn default() -> Self {
        Self {
            state: StoreState::Unknown,
            since: None,
            message: None,
        }
    }
}

impl StoreView {
    /// Takes what one request found out.
    pub fn note<T>(&mut self, result: &Result<T, UploadError>, now: OffsetDateTime) {
        let (state, message) = match result {
            Ok(_) => (StoreState::Online, None),
            Err(UploadError::Transient(m)) => (StoreState::Offline, Some(m.clone())),
            Err(UploadError::Unauthorized) => (StoreState::SessionExpired, None),
            // The store answered (a refusal, an expired call) or a local file failed: the
            // store itself is reachable.
            Err(_) => (StoreState::Online, None),
        };
        self.set(state, message, now);
    }

    /// Sets the state; `since` moves only when the state changes.
    pub fn set(&mut self, state: StoreState, message: Option<String>, now: OffsetDateTime) {
        if state != self.state {
            self.since = Some(now);
        }
        self.state = state;
        self.message = message;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_keeps_its_start_and_ends_at_the_first_answer() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let t1 = t0 + time::Duration::seconds(5);
        let t2 = t0 + time::Duration::seconds(9);
        let mut view = StoreView::default();
        view.note::<()>(
            &Err(UploadError::Transient("connection refused".into())),
            t0,
        );
        view.note::<()>(&Err(UploadError::Transient("timed out".into())), t1);
        assert_eq!(view.state, StoreState::Offline);
        assert_eq!(view.since, Some(t0));
        assert_eq!(view.message.as_deref(), Some("timed out"));
        view.note::<()>(
            &Err(UploadError::Refused {
                code: "forbidden".into(),
                message: "no".into(),
            }),
            t2,
        );
        assert_eq!(
            (view.state, view.since, view.message),
            (StoreState::Online, Some(t2), None)
        );
    }

    #[test]
    fn a_rejected_token_is_an_expired_session() {
        let mut view = StoreView::default();
        view.note::<()>(&Err(UploadError::Unauthorized), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(view.state, StoreState::SessionExpired);
    }
}
