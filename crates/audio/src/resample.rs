//! Any [`Source`] at the recording rate.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

use crate::error::{AudioError, Result};
use crate::source::{Read, Source};

/// Input frames per call when the rates are equal.
const CHUNK: usize = 1024;
/// The smallest FFT the resampler uses on the input side: large FFTs cost less per sample
/// and filter better; the delay (half the output FFT, tens of ms) is compensated anyway.
const MIN_FFT_IN: usize = 2048;
/// FFT blocks per resampler call.
const SUB_CHUNKS: usize = 2;

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// An FFT resampler whose FFT sizes are a power of two times the rates' smallest blocks
/// (3072 → 1024 for 48 → 16 kHz), not sizes with large prime factors, which rustfft can
/// only do several times slower.
fn fft(from: usize, to: usize) -> Result<Fft<f32>> {
    let block_in = from / gcd(from, to);
    let mut blocks = 1;
    while block_in * blocks < MIN_FFT_IN {
        blocks *= 2;
    }
    let sub = block_in * blocks;
    Fft::<f32>::new_custom(
        from,
        to,
        sub * SUB_CHUNKS,
        SUB_CHUNKS,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| AudioError::Resample(e.to_string()))
}

/// Both rates must be positive.
fn positive(from: u32, to: u32) -> Result<()> {
    if to == 0 || from == 0 {
        return Err(AudioError::Rate {
            rate: 0,
            why: "a sample rate must be positive".into(),
        });
    }
    Ok(())
}

/// A source resampled to `rate` with rubato's FFT resampler (fixed ratio, high quality).
///
/// The resampler's delay is trimmed from the start and its tail flushed at the end, so output
/// sample `n` is instant `n / rate` of the input and a source of `d` seconds yields
/// `round_up(d * rate)` samples: event boundaries stay exact. When the rates are equal the
/// samples pass through untouched.
pub struct AtRate<S> {
    inner: S,
    rate: u32,
    fft: Option<Box<Fft<f32>>>,
    chunk_in: usize,
    in_buf: Vec<f32>,
    in_len: usize,
    out_buf: Vec<f32>,
    pending: Vec<f32>,
    pending_pos: usize,
    /// Output frames of filter delay still to drop.
    skip: usize,
    total_in: u64,
    total_out: u64,
    /// Set once the input has ended: how many output samples there must be in all.
    target_out: Option<u64>,
}

impl<S: Source> AtRate<S> {
    /// `inner` at `rate` Hz. Allocates; not real-time safe.
    pub fn new(inner: S, rate: u32) -> Result<Self> {
        let from = inner.rate();
        positive(from, rate)?;
        let (fft, chunk_in, out_max, skip) = if from == rate {
            (None, CHUNK, 0, 0)
        } else {
            let fft = fft(from as usize, rate as usize)?;
            let (chunk, max, delay) = (
                fft.input_frames_next(),
                fft.output_frames_max(),
                fft.output_delay(),
            );
            (Some(Box::new(fft)), chunk, max, delay)
        };
        Ok(Self {
            inner,
            rate,
            fft,
            chunk_in,
            in_buf: vec![0.0; chunk_in],
            in_len: 0,
            out_buf: vec![0.0; out_max],
            pending: Vec::with_capacity(out_max),
            pending_pos: 0,
            skip,
            total_in: 0,
            total_out: 0,
            target_out: None,
        })
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn process_chunk(&mut self, valid: usize) -> Result<()> {
        let Some(fft) = self.fft.as_mut() else {
            return Ok(());
        };
        let input = InterleavedSlice::new(&self.in_buf[..], 1, self.chunk_in)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let out_len = self.out_buf.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_buf[..], 1, out_len)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let indexing = Indexing {
            partial_len: (valid < self.chunk_in).then_some(valid),
            ..Indexing::default()
        };
        let (_, produced) = fft
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let dropped = self.skip.min(produced);
        self.skip -= dropped;
        let mut fresh = &self.out_buf[dropped..produced];
        if let Some(target) = self.target_out {
            let room = usize::try_from(target.saturating_sub(self.total_out)).unwrap_or(usize::MAX);
            fresh = &fresh[..fresh.len().min(room)];
        }
        if self.pending_pos == self.pending.len() {
            self.pending.clear();
            self.pending_pos = 0;
        }
        self.pending.extend_from_slice(fresh);
        self.total_out += fresh.len() as u64;
        self.in_len = 0;
        Ok(())
    }
}

impl<S: Source> Source for AtRate<S> {
    fn rate(&self) -> u32 {
        self.rate
    }

    /// As real-time safe as the inner source (no allocation once running).
    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        if self.fft.is_none() {
            return self.inner.read(out);
        }
        loop {
            if self.pending_pos < self.pending.len() {
                let n = out.len().min(self.pending.len() - self.pending_pos);
                out[..n].copy_from_slice(&self.pending[self.pending_pos..self.pending_pos + n]);
                self.pending_pos += n;
                return Ok(Read::Samples(n));
            }
            if let Some(target) = self.target_out {
                if self.total_out >= target {
                    return Ok(Read::End);
                }
                // Flush the filter's tail with silence.
                self.process_chunk(self.in_len)?;
                continue;
            }
            let free = self.chunk_in - self.in_len;
            match self
                .inner
                .read(&mut self.in_buf[self.in_len..self.in_len + free])?
            {
                Read::Samples(n) => {
                    self.in_len += n;
                    self.total_in += n as u64;
                    if self.in_len == self.chunk_in {
                        self.process_chunk(self.chunk_in)?;
                    }
                }
                Read::Pending => return Ok(Read::Pending),
                Read::End => {
                    let from = u64::from(self.inner.rate());
                    let to = u64::from(self.rate);
                    self.target_out = Some((self.total_in * to).div_ceil(from));
                }
            }
        }
    }
}

/// A live source at `rate` with little delay: rubato's cubic polynomial resampler in 10 ms
/// chunks (about 10 ms of added delay, where [`AtRate`]'s FFT blocks add over 100 ms). For
/// what a person hears live (the softphone's microphone to the network, the network to the
/// headset); recordings use [`AtRate`], which filters better and keeps event boundaries exact.
pub struct QuickRate<S> {
    inner: S,
    rate: u32,
    resampler: Option<rubato::Async<f32>>,
    chunk: usize,
    input: Vec<f32>,
    output: Vec<f32>,
    ready: std::collections::VecDeque<f32>,
    ended: bool,
}

impl<S: Source> QuickRate<S> {
    /// `inner` at `rate` Hz. Allocates; not real-time safe.
    pub fn new(inner: S, rate: u32) -> Result<Self> {
        let from = inner.rate();
        positive(from, rate)?;
        let chunk = (from as usize / 100).max(1);
        let resampler = if from == rate {
            None
        } else {
            Some(
                rubato::Async::<f32>::new_poly(
                    f64::from(rate) / f64::from(from),
                    1.1,
                    rubato::PolynomialDegree::Cubic,
                    chunk,
                    1,
                    rubato::FixedAsync::Input,
                )
                .map_err(|e| AudioError::Resample(e.to_string()))?,
            )
        };
        let out_max = resampler
            .as_ref()
            .map_or(chunk, Resampler::output_frames_max);
        Ok(Self {
            inner,
            rate,
            resampler,
            chunk,
            input: Vec::with_capacity(chunk * 2),
            output: vec![0.0; out_max],
            ready: std::collections::VecDeque::new(),
            ended: false,
        })
    }

    fn convert(&mut self) -> Result<()> {
        let Some(resampler) = self.resampler.as_mut() else {
            self.ready.extend(self.input.drain(..));
            return Ok(());
        };
        while self.input.len() >= self.chunk {
            let input = InterleavedSlice::new(&self.input[..self.chunk], 1, self.chunk)
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            let len = self.output.len();
            let mut output = InterleavedSlice::new_mut(&mut self.output[..], 1, len)
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            let (_, produced) = resampler
                .process_into_buffer(&input, &mut output, None)
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            self.ready.extend(&self.output[..produced]);
            self.input.drain(..self.chunk);
        }
        Ok(())
    }
}

impl<S: Source> Source for QuickRate<S> {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        let mut scratch = [0f32; 480];
        while self.ready.is_empty() && !self.ended {
            match self.inner.read(&mut scratch)? {
                Read::Samples(n) => {
                    self.input.extend_from_slice(&scratch[..n]);
                    self.convert()?;
                }
                Read::Pending => return Ok(Read::Pending),
                Read::End => self.ended = true,
            }
        }
        if self.ready.is_empty() {
            return Ok(Read::End);
        }
        let n = out.len().min(self.ready.len());
        for (o, s) in out.iter_mut().zip(self.ready.drain(..n)) {
            *o = s;
        }
        Ok(Read::Samples(n))
    }

    fn health(&self) -> Option<crate::steady::InputHealth> {
        self.inner.health()
    }
}
