//! Keypad tones kept out of recordings.
//!
//! A customer who types a card number on a tone phone sends it in band, as DTMF tones, and a
//! recording that keeps them keeps the number. Regulators require that each tone, and a
//! guard around it, be replaced by exact digital silence (samples of exactly `0.0`), and that
//! each silenced stretch be reported so the recording's timeline can say so.
//!
//! - The detector follows ITU-T Q.24 practice: Goertzel filters on the eight DTMF frequencies
//!   over 10 ms blocks. A digit is confirmed once one tone of each group has led its group
//!   for 40 ms (its edges measured to the millisecond) and, over the last 40 ms combined into
//!   one window, both tones are within ±2 % of nominal, the high one between 9 dB under and
//!   4.5 dB over the low one, the louder above −45 dBFS, each 6 dB above its neighbours, and
//!   together carrying 70 % of the energy (which is what speech and music lack).
//! - [`KeypadMasker`] holds [`LOOKAHEAD`] of input back, so that once a tone is confirmed its
//!   onset and the [`GUARD`] before it are still there to silence.
//! - [`KeypadMasked`] is any [`Source`](crate::Source) so masked, its stretches readable from
//!   another thread through [`MaskedStretches`]; [`mask_buffer`] masks a whole buffer.
//!
//! The detector reports where tones are, never which digits they carried.

mod detect;
mod masked;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Duration;

use crate::error::{AudioError, Result};
use detect::{Detector, Event};

pub use masked::{KeypadMasked, MaskedStretches};

/// How long input is held back before it is released. A tone starts up to 10 ms before its
/// first whole block and is confirmed at the latest 40 ms after that block starts; with the
/// guard before it, 80 ms must still be held then. The 20 ms more let a digit confirmed a
/// block late (a syllable over it) still be masked from its onset.
pub const LOOKAHEAD: Duration = Duration::from_millis(100);

/// Silence kept either side of each tone: a tone starts and ends inside a block that does not
/// pass as a digit (up to 10 ms of it), and a decoder must not find a fragment of it either.
pub const GUARD: Duration = Duration::from_millis(30);

/// The slowest rate the detector takes: 1633 Hz and its neighbours need 8 kHz.
const MIN_RATE: u32 = 8_000;

/// Masked stretches pending at once in the held-back input; each is at least the two
/// guards and a digit long (about 100 ms), so two would do. Past this, a new one is merged
/// into the last (more silence, never less).
const MAX_PENDING: usize = 8;

/// Blocks of input accepted beyond the lookahead, so that pushes and pulls come in useful
/// sizes.
const SLACK_BLOCKS: usize = 4;

fn samples_of(d: Duration, rate: u32) -> u64 {
    (d.as_secs_f64() * f64::from(rate)).round() as u64
}

/// The streaming masker: samples pushed in come out of [`KeypadMasker::pull`] in order,
/// [`LOOKAHEAD`] later, with keypad tones and their guards replaced by `0.0`.
///
/// Sample `n` out is sample `n` in; samples outside masked stretches are bit-identical to the
/// input. Masked stretches are reported, as `[from, to)` sample indices on the input's clock,
/// once all their samples have been pulled.
#[derive(Debug, Clone)]
pub struct KeypadMasker {
    detector: Detector,
    ring: Vec<f32>,
    lookahead: u64,
    /// Samples pulled so far: the index of the next one out.
    released: u64,
    /// Samples pushed so far: the index of the next one in.
    pushed: u64,
    finished: bool,
    /// Masked stretches not yet wholly pulled, in order; `to` is `u64::MAX` while a tone
    /// lasts.
    pending: VecDeque<(u64, u64)>,
}

impl KeypadMasker {
    /// A masker for input at `rate` Hz (at least 8 kHz). Allocates; not real-time safe.
    pub fn new(rate: u32) -> Result<Self> {
        if rate < MIN_RATE {
            return Err(AudioError::Rate {
                rate,
                why: format!("keypad tones need at least {MIN_RATE} Hz"),
            });
        }
        let detector = Detector::new(rate, samples_of(GUARD, rate));
        let lookahead = samples_of(LOOKAHEAD, rate);
        let capacity = lookahead as usize + SLACK_BLOCKS * detector.block();
        Ok(Self {
            detector,
            ring: vec![0.0; capacity],
            lookahead,
            released: 0,
            pushed: 0,
            finished: false,
            pending: VecDeque::with_capacity(MAX_PENDING),
        })
    }

    /// Samples held back before release ([`LOOKAHEAD`] at this rate). Real-time safe.
    pub fn lookahead(&self) -> usize {
        self.lookahead as usize
    }

    /// How many samples [`KeypadMasker::push`] takes now. Real-time safe.
    pub fn room(&self) -> usize {
        if self.finished {
            return 0;
        }
        self.ring.len() - (self.pushed - self.released) as usize
    }

    /// Takes as many of `input` as there is [`KeypadMasker::room`] for and returns how many;
    /// none once finished. Real-time safe: no allocation, no lock.
    pub fn push(&mut self, input: &[f32]) -> usize {
        let n = input.len().min(self.room());
        let input = &input[..n];
        let cap = self.ring.len();
        let at = (self.pushed % cap as u64) as usize;
        let first = n.min(cap - at);
        self.ring[at..at + first].copy_from_slice(&input[..first]);
        self.ring[..n - first].copy_from_slice(&input[first..]);
        let (released, pending) = (self.released, &mut self.pending);
        self.detector
            .feed(input, |event| apply(pending, released, event));
        self.pushed += n as u64;
        n
    }

    /// The input is over: everything pushed may now be pulled. Real-time safe.
    pub fn finish(&mut self) {
        if !self.finished {
            let (released, pending) = (self.released, &mut self.pending);
            self.detector
                .finish(|event| apply(pending, released, event));
            self.finished = true;
        }
    }

    /// Whether [`KeypadMasker::finish`] was called and everything has been pulled.
    /// Real-time safe.
    pub fn is_done(&self) -> bool {
        self.finished && self.released == self.pushed
    }

    /// Writes the next samples that are final (held [`LOOKAHEAD`], or all once finished) to
    /// `out`, masked, and returns how many; `on_stretch(from, to)` hears each masked stretch
    /// once all of it has been pulled. Real-time safe if `on_stretch` is.
    pub fn pull(&mut self, out: &mut [f32], mut on_stretch: impl FnMut(u64, u64)) -> usize {
        let held = self.pushed - self.released;
        let ready = if self.finished {
            held
        } else {
            held.saturating_sub(self.lookahead)
        };
        let n = out.len().min(ready as usize);
        let out = &mut out[..n];
        let cap = self.ring.len();
        let at = (self.released % cap as u64) as usize;
        let first = n.min(cap - at);
        out[..first].copy_from_slice(&self.ring[at..at + first]);
        out[first..].copy_from_slice(&self.ring[..n - first]);
        let (from, to) = (self.released, self.released + n as u64);
        for &(a, b) in &self.pending {
            let (a, b) = (a.max(from), b.min(to));
            if a < b {
                out[(a - from) as usize..(b - from) as usize].fill(0.0);
            }
        }
        self.released = to;
        let all_out = self.is_done();
        while let Some(&(a, b)) = self.pending.front() {
            if b > self.released && !all_out {
                break;
            }
            self.pending.pop_front();
            let b = b.min(self.pushed);
            if a < b {
                on_stretch(a, b);
            }
        }
        n
    }
}

/// Records a detector event among the pending stretches; nothing before `released` can be
/// masked any more.
fn apply(pending: &mut VecDeque<(u64, u64)>, released: u64, event: Event) {
    match event {
        Event::Start(from) => {
            let from = from.max(released);
            let full = pending.len() == MAX_PENDING;
            match pending.back_mut() {
                Some(last) if from <= last.1 || full => {
                    last.1 = u64::MAX;
                }
                _ => pending.push_back((from, u64::MAX)),
            }
        }
        Event::End(to) => {
            if let Some(last) = pending.back_mut()
                && last.1 == u64::MAX
            {
                last.1 = to.max(last.0);
            }
        }
    }
}

/// Masks the keypad tones in a whole buffer, in place, and returns the masked stretches as
/// `[from, to)` sample indices. The same detector and masker as [`KeypadMasked`], so the same
/// samples come out. Allocates; not real-time safe.
pub fn mask_buffer(samples: &mut [f32], rate: u32) -> Result<Vec<(u64, u64)>> {
    let mut masker = KeypadMasker::new(rate)?;
    let mut stretches = Vec::new();
    let (mut pushed, mut pulled) = (0, 0);
    while !masker.is_done() {
        pushed += masker.push(&samples[pushed..]);
        if pushed == samples.len() {
            masker.finish();
        }
        // Pulled samples are written where they came from: never ahead of what was pushed.
        pulled += masker.pull(&mut samples[pulled..pushed], |a, b| {
            stretches.push((a, b));
        });
    }
    Ok(stretches)
}
