//! The [`Source`] abstraction and a synthetic tone source.

use crate::error::Result;

/// What a [`Source::read`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// This many samples were written to the start of the buffer (at least one).
    Samples(usize),
    /// Nothing is ready yet (a live source between device periods); try again later.
    Pending,
    /// The stream is over; no more samples will come.
    End,
}

/// A mono stream of `f32` samples in `[-1, 1]` at a fixed rate.
///
/// `read` is not real-time safe in general (file sources do IO): call it from a worker
/// thread, never from an audio callback.
pub trait Source: Send {
    /// Samples per second of what [`Source::read`] returns.
    fn rate(&self) -> u32;

    /// Reads up to `out.len()` samples into `out`.
    fn read(&mut self, out: &mut [f32]) -> Result<Read>;

    /// How a live input is doing (lost, reconnected); `None` for sources that cannot be
    /// lost (files, tones).
    fn health(&self) -> Option<crate::steady::InputHealth> {
        None
    }
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn rate(&self) -> u32 {
        (**self).rate()
    }

    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        (**self).read(out)
    }

    fn health(&self) -> Option<crate::steady::InputHealth> {
        (**self).health()
    }
}

/// A sine tone of a fixed length: test signals and benchmarks.
#[derive(Debug, Clone)]
pub struct Tone {
    rate: u32,
    step: f64,
    phase: f64,
    amplitude: f32,
    left: u64,
}

impl Tone {
    /// `seconds` of a sine at `freq` Hz and `amplitude` (0..=1), sampled at `rate`.
    pub fn new(rate: u32, freq: f64, amplitude: f32, seconds: f64) -> Self {
        Self {
            rate,
            step: std::f64::consts::TAU * freq / f64::from(rate),
            phase: 0.0,
            amplitude,
            left: (seconds * f64::from(rate)).round() as u64,
        }
    }
}

impl Source for Tone {
    fn rate(&self) -> u32 {
        self.rate
    }

    /// Real-time safe: no allocation, no IO.
    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        if self.left == 0 {
            return Ok(Read::End);
        }
        let n = out
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for s in &mut out[..n] {
            *s = self.amplitude * self.phase.sin() as f32;
            self.phase = (self.phase + self.step) % std::f64::consts::TAU;
        }
        self.left -= n as u64;
        Ok(if n == 0 { Read::End } else { Read::Samples(n) })
    }
}

/// A source delivered at the pace of the wall clock from its creation, as a device delivers
/// (demos, tests, benchmarks): `Pending` until more samples are due.
#[derive(Debug, Clone)]
pub struct Paced<S> {
    inner: S,
    start: std::time::Instant,
    delivered: u64,
}

impl<S: Source> Paced<S> {
    /// `inner`, paced from now.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            start: std::time::Instant::now(),
            delivered: 0,
        }
    }
}

impl<S: Source> Source for Paced<S> {
    fn rate(&self) -> u32 {
        self.inner.rate()
    }

    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        let due = (self.start.elapsed().as_secs_f64() * f64::from(self.inner.rate())) as u64;
        let n = usize::try_from(due.saturating_sub(self.delivered))
            .unwrap_or(usize::MAX)
            .min(out.len());
        if n == 0 {
            return Ok(Read::Pending);
        }
        let read = self.inner.read(&mut out[..n])?;
        if let Read::Samples(k) = read {
            self.delivered += k as u64;
        }
        Ok(read)
    }
}
