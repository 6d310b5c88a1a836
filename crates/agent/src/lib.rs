//! The engine one agent's app runs, and the only API the desktop shell and the CLI call.
//!
//! A [`Session`] signs in to the central store, fetches each project's policy (validated
//! against its cached version, the cache used when the store is unreachable), runs one call
//! at a time (policy, capture, recorder), queues finished calls in the outbox and uploads them.
//! It takes the agent's intents and returns the engine's answer, refusals with their reasons;
//! it shows its state as a [`Snapshot`]. No policy means nothing is recorded, and the error
//! says why. It decides no rule itself: those are `callrec-policy`'s.

mod device_test;
mod error;
mod secret;
mod session;
mod softphone;
mod store_status;

pub use callrec_uploader::allow_insecure_http;
pub use device_test::{DeviceLevel, DeviceTestView};
pub use error::{AgentError, Result};
pub use session::{
    Audio, CallRequest, CallView, DeviceHealth, Intent, PolicySource, RATES, Session, Snapshot,
    UploadReport, UploadView,
};
pub use softphone::{
    CONSENT_HEADER, LineView, PartyView, PhoneAudio, PhoneView, RingView, SipAccount, SipCallView,
};
pub use store_status::{StoreState, StoreView};

/// Makes every file and folder this process creates from now on its user's alone (umask
/// 077): recordings, databases and sessions are not for other accounts on the machine. The
/// binaries call it first thing.
pub fn private_files() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
}
