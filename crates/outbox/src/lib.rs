//! callrec's outbox: the agent machine's queue of recordings waiting for the central store,
//! kept in one SQLite file (`callrec.db`) beside the call folders the recorder writes.
//!
//! - [`Outbox::enqueue`] queues a finished call folder (one holding its `recording.json`),
//!   once per call id.
//! - The uploader asks for what is [`due`](Outbox::due), and reports each attempt:
//!   [`start_attempt`](Outbox::start_attempt), then
//!   [`attempt_failed`](Outbox::attempt_failed) (retry later, or give up) or
//!   [`uploaded`](Outbox::uploaded), which removes the local folder. Nothing is removed
//!   before the central store has confirmed it, except what has expired
//!   ([`sweep_expired`](Outbox::sweep_expired)).
//! - It also keeps the last policy fetched per project and a few app settings.
//!
//! The schema grows by append-only migrations keyed by `PRAGMA user_version`; a database
//! from a newer callrec is refused, never touched.
//!
//! It knows files and SQLite only: no HTTP (that is the uploader's), no audio and no
//! recording rules (the recorder's and the policy's). Every instant comes from the caller,
//! so tests step time by hand.

mod entry;
mod error;
mod lifecycle;
mod outbox;
mod schema;
mod sidecar;
mod stamp;
mod store;

pub use entry::{Entry, State};
pub use error::{OutboxError, Result};
pub use lifecycle::EXPIRED;
pub use outbox::Outbox;
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use sidecar::SIDECAR;
pub use store::CachedPolicy;
