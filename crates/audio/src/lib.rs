//! callrec's audio inputs: where samples come from, and how they reach the recording rate.
//!
//! - [`Source`]: a mono stream of `f32` samples at a fixed rate. [`WavSource`] replays a file,
//!   [`Tone`] synthesises a sine (tests, benchmarks), [`CaptureSource`] reads a cpal input
//!   device through a lock-free ring.
//! - [`AtRate`]: any source resampled to the recording rate (rubato), its filter delay
//!   compensated so that sample `n` of the output is instant `n / rate` of the input.
//! - [`Aligned`]: a live source kept on the reference clock, so two devices whose crystals
//!   differ stay aligned over long calls.
//! - [`Steady`]: a live input that keeps time when its device is lost (silence in its
//!   place, reopened every second), with an [`InputHealth`] the window shows.
//! - [`Meter`] (RMS and peak levels for the UI) and [`Limiter`] (sums that never clip hard).
//! - [`KeypadMasked`]: a source whose DTMF keypad tones (a card number typed on a tone
//!   phone) are replaced by exact silence, the silenced stretches reported through
//!   [`MaskedStretches`]; [`mask_buffer`] does the same to a whole buffer.
//!
//! This crate knows nothing of policies, calls or files other than WAV inputs. Every public
//! function says whether it is real-time safe; only the cpal callback inside
//! [`CaptureSource`] runs on the audio thread, and it only copies into a ring.

mod capture;
mod drift;
mod error;
mod keypad;
mod limiter;
mod meter;
mod playback;
mod resample;
mod source;
mod steady;
mod wav;

pub use capture::{
    CaptureHealth, CaptureSource, DeviceInfo, default_input_device, list_input_devices, live_input,
    live_input_quick,
};
pub use drift::{Aligned, Clock, ManualClock, MonotonicClock};
pub use error::{AudioError, Result};
pub use keypad::{
    GUARD as KEYPAD_GUARD, KeypadMasked, KeypadMasker, LOOKAHEAD as KEYPAD_LOOKAHEAD,
    MaskedStretches, mask_buffer,
};
pub use limiter::Limiter;
pub use meter::{Level, Meter};
pub use playback::{Playback, PlaybackHealth, list_output_devices};
pub use resample::{AtRate, QuickRate};
pub use source::{Paced, Read, Source, Tone};
pub use steady::{InputHealth, Opener, RETRY, STALL, STARTUP, Steady};
pub use wav::WavSource;
