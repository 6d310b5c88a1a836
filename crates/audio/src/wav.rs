//! Replaying WAV files: any rate, any channel count (downmixed to mono), 8/16/24/32-bit
//! integer or 32-bit float samples.

use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use crate::error::{AudioError, Result};
use crate::source::{Read, Source};

/// A WAV file as a mono [`Source`]. hound parses the header; the samples are then read in
/// bulk, which is several times faster than decoding them one by one.
pub struct WavSource {
    path: PathBuf,
    reader: BufReader<File>,
    rate: u32,
    channels: usize,
    format: Format,
    /// Frames not yet read.
    frames_left: u64,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    I8,
    I16,
    I24,
    I32,
    F32,
}

impl Format {
    fn bytes(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 => 2,
            Self::I24 => 3,
            Self::I32 | Self::F32 => 4,
        }
    }

    fn decode(self, b: &[u8]) -> f32 {
        match self {
            // 8-bit WAV is unsigned, centred on 128.
            Self::I8 => (f32::from(b[0]) - 128.0) / 128.0,
            Self::I16 => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0,
            Self::I24 => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            Self::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
            Self::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    }
}

impl WavSource {
    /// Opens `path`. Not real-time safe (file IO).
    pub fn open(path: &Path) -> Result<Self> {
        let wav_err = |source| AudioError::Wav {
            path: path.to_owned(),
            source,
        };
        let reader = hound::WavReader::open(path).map_err(wav_err)?;
        let spec = reader.spec();
        let format = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 8) => Format::I8,
            (hound::SampleFormat::Int, 16) => Format::I16,
            (hound::SampleFormat::Int, 24) => Format::I24,
            (hound::SampleFormat::Int, 32) => Format::I32,
            (hound::SampleFormat::Float, 32) => Format::F32,
            (f, bits) => {
                return Err(AudioError::UnsupportedWav {
                    path: path.to_owned(),
                    what: format!(
                        "{bits}-bit {f:?} samples (8/16/24/32-bit integer or 32-bit float are read)"
                    ),
                });
            }
        };
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(AudioError::UnsupportedWav {
                path: path.to_owned(),
                what: "zero channels or a zero sample rate".into(),
            });
        }
        let frames_left = u64::from(reader.duration());
        // hound leaves the file positioned at the first sample of the data chunk.
        let reader = reader.into_inner();
        Ok(Self {
            path: path.to_owned(),
            reader,
            rate: spec.sample_rate,
            channels: usize::from(spec.channels),
            format,
            frames_left,
            bytes: Vec::new(),
        })
    }

    /// The file's sample rate.
    pub fn native_rate(&self) -> u32 {
        self.rate
    }

    /// The file's channel count (the source downmixes them to mono).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames (per channel) not yet read.
    pub fn frames_left(&self) -> u64 {
        self.frames_left
    }
}

impl Source for WavSource {
    fn rate(&self) -> u32 {
        self.rate
    }

    /// Not real-time safe (file IO).
    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        let frames = out
            .len()
            .min(usize::try_from(self.frames_left).unwrap_or(usize::MAX));
        if frames == 0 {
            return Ok(if out.is_empty() {
                Read::Samples(0)
            } else {
                Read::End
            });
        }
        let frame_bytes = self.format.bytes() * self.channels;
        self.bytes.resize(frames * frame_bytes, 0);
        let mut filled = 0;
        while filled < self.bytes.len() {
            match self.reader.read(&mut self.bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(AudioError::Wav {
                        path: self.path.clone(),
                        source: hound::Error::IoError(e),
                    });
                }
            }
        }
        // A file cut short (a crash while it was written) ends at its last whole frame.
        let frames = filled / frame_bytes;
        if frames == 0 {
            self.frames_left = 0;
            return Ok(Read::End);
        }
        decode(
            self.format,
            self.channels,
            &self.bytes[..frames * frame_bytes],
            &mut out[..frames],
        );
        self.frames_left = if filled < self.bytes.len() {
            0
        } else {
            self.frames_left - frames as u64
        };
        Ok(Read::Samples(frames))
    }
}

/// Decodes interleaved little-endian frames into mono. One loop per format and layout, so the
/// common cases (16-bit mono or stereo) compile to tight, vectorised loops.
fn decode(format: Format, channels: usize, bytes: &[u8], out: &mut [f32]) {
    match (format, channels) {
        (Format::I16, 1) => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / 32_768.0);
            }
        }
        (Format::I16, 2) => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                let l = f32::from(i16::from_le_bytes([b[0], b[1]]));
                let r = f32::from(i16::from_le_bytes([b[2], b[3]]));
                *o = (l + r) * (0.5 / 32_768.0);
            }
        }
        (Format::F32, 1) => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        _ => {
            let width = format.bytes();
            let scale = 1.0 / channels as f32;
            for (o, frame) in out.iter_mut().zip(bytes.chunks_exact(width * channels)) {
                *o = frame
                    .chunks_exact(width)
                    .map(|b| format.decode(b))
                    .sum::<f32>()
                    * scale;
            }
        }
    }
}
