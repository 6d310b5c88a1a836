//! Audio errors, classified by what the caller can do next.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = AudioError> = std::result::Result<T, E>;

/// What went wrong with an audio input.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// A WAV file could not be opened or read.
    #[error("cannot read WAV file {path}: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: hound::Error,
    },
    /// A WAV file holds a format this crate does not read.
    #[error("unsupported WAV format in {path}: {what}")]
    UnsupportedWav {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        what: String,
    },
    /// No input device has that name.
    #[error("no input device named {name:?}; available: {available}")]
    NoSuchDevice {
        /// The name asked for.
        name: String,
        /// The names there are, comma-separated.
        available: String,
    },
    /// The machine has no default input device.
    #[error("no default input device (is a microphone connected?)")]
    NoDefaultDevice,
    /// The machine has no default output device.
    #[error("no default output device (is a headset connected?)")]
    NoDefaultOutput,
    /// An output device refused to open or play.
    #[error("output device {device:?}: {message}")]
    Output {
        /// The device's name.
        device: String,
        /// What went wrong.
        message: String,
    },
    /// The device refused to open or start a stream.
    #[error("input device {device:?}: {message}")]
    Device {
        /// The device's name.
        device: String,
        /// What the audio backend said.
        message: String,
    },
    /// A sample rate that cannot be used.
    #[error("invalid sample rate {rate} Hz: {why}")]
    Rate {
        /// The rate.
        rate: u32,
        /// Why it is refused.
        why: String,
    },
    /// The resampler failed.
    #[error("resampling failed: {0}")]
    Resample(String),
}
