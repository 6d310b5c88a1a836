//! Keeping a live source on the reference clock.
//!
//! Two sound devices never run at exactly their nominal rates: ±100 ppm is common, 0.36 s an
//! hour. [`Aligned`] measures how many samples its source really delivers per second of the
//! reference clock (the clock events are timed with), and slips a sample now and then (drops
//! one when the device runs fast, repeats one when it runs slow) so that sample `n` of every
//! aligned source stands for the same instant. At 200 ppm that is one slip every 5,000
//! samples: inaudible in speech, and far better than sides drifting apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::source::{Read, Source};

/// The reference clock: time elapsed since some fixed start.
pub trait Clock: Send {
    /// Time since the clock's start.
    fn elapsed(&self) -> Duration;
}

/// The machine's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock(Instant);

impl MonotonicClock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self(Instant::now())
    }
}

impl Clock for MonotonicClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock moved by hand: simulated time for tests and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(
            u64::try_from(by.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

impl Clock for ManualClock {
    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// No correction before this much audio: too little to tell drift from jitter.
const WARM_UP: f64 = 5.0;
/// Corrections are bounded: a device this far off is broken, not drifting.
const MAX_PPM: f64 = 2_000.0;

/// A live source (already at its nominal `rate`) kept on the reference clock by slipping.
pub struct Aligned<S, C> {
    inner: S,
    clock: C,
    rate: f64,
    buf: Vec<f32>,
    /// Least-squares sums of (seconds, samples delivered) since the start.
    n: f64,
    st: f64,
    sn: f64,
    stt: f64,
    stn: f64,
    delivered: u64,
    /// Output samples owed, fractional; starts centred so slips fall evenly.
    phase: f64,
    ratio: f64,
    slips: u64,
}

impl<S: Source, C: Clock> Aligned<S, C> {
    /// `inner` aligned to `clock`. Allocates; not real-time safe.
    pub fn new(inner: S, clock: C) -> Self {
        Self {
            rate: f64::from(inner.rate()),
            inner,
            clock,
            buf: vec![0.0; 4096],
            n: 0.0,
            st: 0.0,
            sn: 0.0,
            stt: 0.0,
            stn: 0.0,
            delivered: 0,
            phase: 0.5,
            ratio: 1.0,
            slips: 0,
        }
    }

    /// The measured rate of the source relative to its nominal rate (1.0002 = 200 ppm fast).
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// Samples dropped or repeated so far.
    pub fn slips(&self) -> u64 {
        self.slips
    }

    fn observe(&mut self) {
        let t = self.clock.elapsed().as_secs_f64();
        let d = self.delivered as f64;
        self.n += 1.0;
        self.st += t;
        self.sn += d;
        self.stt += t * t;
        self.stn += t * d;
        if t < WARM_UP {
            return;
        }
        let denom = self.n * self.stt - self.st * self.st;
        if denom <= f64::EPSILON {
            return;
        }
        let slope = (self.n * self.stn - self.st * self.sn) / denom;
        let bound = MAX_PPM * 1e-6;
        self.ratio = (slope / self.rate).clamp(1.0 - bound, 1.0 + bound);
    }
}

impl<S: Source, C: Clock> Source for Aligned<S, C> {
    fn rate(&self) -> u32 {
        self.rate as u32
    }

    /// As real-time safe as the inner source: no allocation once running.
    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        // Read at most what fits even if every sample had to be repeated.
        let want = (out.len() / 2).clamp(1, self.buf.len());
        let got = match self.inner.read(&mut self.buf[..want])? {
            Read::Samples(n) => n,
            other => return Ok(other),
        };
        self.delivered += got as u64;
        self.observe();
        let step = 1.0 / self.ratio;
        let mut written = 0;
        for &s in &self.buf[..got] {
            // Normally exactly one output per input; a fast source sometimes yields none
            // (a dropped sample), a slow one sometimes two (a repeated one).
            self.phase += step;
            let mut copies = 0;
            while self.phase >= 1.0 && written < out.len() {
                out[written] = s;
                written += 1;
                copies += 1;
                self.phase -= 1.0;
            }
            if copies != 1 {
                self.slips += 1;
            }
        }
        Ok(if written == 0 {
            Read::Pending
        } else {
            Read::Samples(written)
        })
    }
}
