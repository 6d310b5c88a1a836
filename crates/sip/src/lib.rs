//! callrec's softphone: every party of a call is its own RTP leg, so the recorder gets the
//! agent side exactly as sent and each remote side exactly as received, on the call's clock.
//!
//! - [`sdp`]: the offer callrec makes (PCMU, PCMA, RFC 4733 telephone-event) and the
//!   negotiation of a peer's offer or answer.
//! - [`dtmf`]: keypad digits as RFC 4733 telephone-events, sent and received (never tones
//!   in the recording).
//! - [`g711`]: G.711 μ-law and A-law frames (the codec arithmetic from
//!   `audio-codec-algorithms`).
//! - [`jitter`]: the adaptive jitter buffer that puts received frames back on the call clock,
//!   conceals losses and reports its delay.
//! - [`media`]: one RTP leg: the agent's frames sent every 20 ms, the peer's received; both
//!   sides as sources for the recorder.
//! - [`phone`]: the user agent: calls placed to a URI (no registrar needed), calls received
//!   and answered, BYE either way.
//!
//! Signalling uses rsipstack (transactions, dialogs, digest auth, UDP and TCP): it is the most
//! active Rust SIP stack with both client and server dialogs, and it leaves media to us.

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod media;
pub mod phone;
pub mod rtcp;
pub mod sdp;
pub mod voice;
mod wrap;

mod error;

pub use error::{Result, SipError};
