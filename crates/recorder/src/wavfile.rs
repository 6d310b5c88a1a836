//! Crash-safe WAV files: written as `NAME.part`, handed to the OS and the header refreshed
//! four times a second so a crash loses at most a quarter of a second and leaves a readable
//! file, renamed to `NAME` when complete.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{RecorderError, Result};

/// The suffix of files still being written.
pub const PART: &str = "part";

/// 16-bit stereo PCM at `rate`: left = agent, right = remote.
pub(crate) fn spec(rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// `path` with `.part` appended.
pub fn part_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".");
    p.push(PART);
    PathBuf::from(p)
}

/// A stereo WAV file being written.
pub(crate) struct PartFile {
    part: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    since_flush: u64,
    flush_every: u64,
}

impl PartFile {
    /// Creates `path.part`. Refuses to replace an existing file.
    pub(crate) fn create(path: &Path, rate: u32) -> Result<Self> {
        let part = part_path(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(RecorderError::io("creating", &part))?;
        let writer = hound::WavWriter::new(BufWriter::with_capacity(64 * 1024, file), spec(rate))
            .map_err(RecorderError::wav(&part))?;
        Ok(Self {
            part,
            writer,
            since_flush: 0,
            flush_every: u64::from(rate / 4).max(1),
        })
    }

    /// Appends frames (`left[i]`, `right[i]`). Not real-time safe (file IO).
    pub(crate) fn write(&mut self, frames: &[[i16; 2]]) -> Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let samples = u32::try_from(frames.len() * 2).unwrap_or(u32::MAX);
        let mut w = self.writer.get_i16_writer(samples);
        for [l, r] in frames {
            w.write_sample(*l);
            w.write_sample(*r);
        }
        w.flush().map_err(RecorderError::wav(&self.part))?;
        self.since_flush += frames.len() as u64;
        if self.since_flush >= self.flush_every {
            // Refresh the header and hand the buffer to the OS: a crash (even kill -9) from
            // here on loses only what comes next.
            self.writer
                .flush()
                .map_err(RecorderError::wav(&self.part))?;
            self.since_flush = 0;
        }
        Ok(())
    }

    /// Completes the file's header; it keeps its `.part` name until the call is finalized.
    pub(crate) fn close(self) -> Result<()> {
        self.writer
            .finalize()
            .map_err(RecorderError::wav(&self.part))
    }

    /// Deletes the file: nothing of it is kept.
    pub(crate) fn discard(self) -> Result<()> {
        drop(self.writer);
        std::fs::remove_file(&self.part).map_err(RecorderError::io("deleting", &self.part))
    }
}

/// Syncs `part` and renames it to `path`.
pub(crate) fn complete(part: &Path, path: &Path) -> Result<()> {
    File::open(part)
        .and_then(|f| f.sync_all())
        .map_err(RecorderError::io("syncing", part))?;
    std::fs::rename(part, path).map_err(RecorderError::io("renaming", part))
}

/// Makes a WAV file cut short by a crash whole again: its RIFF and data sizes are set to
/// the whole frames actually on disk, and a partial frame at the end is cut off. Returns
/// the number of frames kept.
pub fn repair(path: &Path) -> Result<u64> {
    let io = |action| RecorderError::io(action, path);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io("opening"))?;
    let len = file.metadata().map_err(io("reading"))?.len();
    let bad = |why: &str| RecorderError::Journal {
        path: path.to_owned(),
        why: why.to_owned(),
    };
    let mut riff = [0u8; 12];
    file.read_exact(&mut riff)
        .map_err(|_| bad("no RIFF header"))?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let mut block_align = 0u64;
    let mut pos = 12u64;
    loop {
        let mut header = [0u8; 8];
        file.seek(SeekFrom::Start(pos)).map_err(io("reading"))?;
        file.read_exact(&mut header)
            .map_err(|_| bad("no data chunk"))?;
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        if &header[0..4] == b"fmt " {
            let mut fmt = [0u8; 16];
            file.read_exact(&mut fmt)
                .map_err(|_| bad("short fmt chunk"))?;
            block_align = u64::from(u16::from_le_bytes([fmt[12], fmt[13]]));
        }
        if &header[0..4] == b"data" {
            if block_align == 0 {
                return Err(bad("data chunk before fmt chunk"));
            }
            let data_start = pos + 8;
            let data = (len.saturating_sub(data_start) / block_align) * block_align;
            let data32 = u32::try_from(data).map_err(|_| bad("longer than a WAV file can hold"))?;
            file.set_len(data_start + data).map_err(io("truncating"))?;
            file.seek(SeekFrom::Start(4)).map_err(io("writing"))?;
            let riff_size = u32::try_from(data_start + data - 8).unwrap_or(u32::MAX);
            file.write_all(&riff_size.to_le_bytes())
                .map_err(io("writing"))?;
            file.seek(SeekFrom::Start(pos + 4)).map_err(io("writing"))?;
            file.write_all(&data32.to_le_bytes())
                .map_err(io("writing"))?;
            file.sync_all().map_err(io("syncing"))?;
            return Ok(data / block_align);
        }
        pos += 8 + size + (size & 1);
    }
}
