//! callrec's recording policy: the rules of `POLICY.md`, once, as pure code.
//!
//! - [`settings`]: global and project settings, their validation (errors name the field and
//!   the allowed values) and their resolution into a [`Policy`];
//! - [`Call`]: the per-call state machine. An event at an instant goes in; the change or a
//!   [`Refusal`] with its [`Reason`] comes out. [`Call::sides`] says who is recorded now,
//!   [`Call::controls`] what the agent may do and why not, [`Call::outcome`] the §7 result;
//! - [`may_listen`] and [`expires_at`]: who may hear a recording, and until when it is kept.
//!
//! This crate knows nothing of audio, files, networks, threads or clocks: time is an argument,
//! so every rule is tested by stepping instants by hand. Every other crate obeys it, and no
//! other crate decides what is recorded.

mod call;
mod controls;
mod error;
mod event;
mod json;
mod listen;
mod names;
mod outcome;
mod reason;
mod retention;
pub mod settings;
mod simulate;

pub use call::{Applied, Call, Halt, Phase, Refusal, Sides, Take, TakeStatus};
pub use controls::{Control, Controls, SideReason, SideStatus, SidesStatus, Warning};
pub use error::InputError;
pub use event::{Consent, Direction, Event, EventName, TimedEvent};
pub use listen::{Listener, RecordingOwner, Role, may_listen};
pub use names::Named;
pub use outcome::{Interval, Outcome, ReceiptTake, Verdict};
pub use reason::Reason;
pub use retention::{add_months, expires_at};
pub use settings::{
    Choice, ConferenceMode, GlobalSettings, HoldingMonths, OfflineDays, Policy, ProjectKind,
    ProjectSettings, RecordMode, SettingsFile,
};
pub use simulate::{EventsError, Simulation, parse_events, simulate};
