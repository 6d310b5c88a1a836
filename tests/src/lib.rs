//! End-to-end tests live in `tests/`; this library holds what they and other crates' SIP
//! tests share: baresip as a peer, tones, and what a recording holds.

pub mod sip;
