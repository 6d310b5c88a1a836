//! callrec's client of the central store: sign-in, policy fetch validated against the cached
//! version, and resumable uploads of recorded calls, classified errors and backoff with
//! jitter. It speaks `callrec_protocol` over reqwest and knows nothing of the local queue
//! (the outbox) or of audio.

mod backoff;
mod calls;
mod client;
mod error;
mod upload;

pub use backoff::retry_delay;
pub use client::{Client, PolicyFetch, Transport, allow_insecure_http, store_url};
pub use error::{Result, UploadError};
pub use upload::{Progress, Uploaded, manifest_for};
