//! callrec's recorder: a call's policy applied to its audio, sample by sample, written to
//! crash-safe WAV files with the metadata the central store needs.
//!
//! - [`Recorder`]: give it the call's events and its audio (agent, and the remote inputs) on
//!   one clock; it writes `recording.wav` (stereo, left = agent, right = remote),
//!   `receipts/<order>-<seq>.wav` for each kept voice receipt take, and `recording.json`.
//!   A side the policy does not allow is exact zeros from the first frame at or after the
//!   event's instant.
//! - Files are written as `.part`, their headers refreshed every second, and completed when
//!   the call ends; a journal of events makes [`recover`] able to finish a call that a crash
//!   interrupted, losing at most the last second.
//! - [`replay`]: the offline path, files in, folder out, as fast as the machine allows.
//!
//! It decides nothing itself: what is recorded is what `callrec-policy` says.

mod error;
mod finalize;
mod live;
mod recorder;
mod replay;
mod sidecar;
mod wavfile;

pub use error::{RecorderError, Result};
pub use finalize::recover;
pub use live::{LiveCall, LiveState, record_live};
pub use recorder::{Recorder, Remote, frame_at, ms_at};
pub use replay::{ReplayInputs, replay};
pub use sidecar::{
    CallInfo, DeviceGap, FORMAT, FileEntry, JOURNAL, RECEIPTS, RECORDING, ReceiptEntry, SIDECAR,
    Sidecar, receipt_file_name,
};
pub use wavfile::{part_path, repair};
