//! The DTMF detector: Goertzel filters over 10 ms blocks, ITU-T Q.24's checks, and a digit
//! confirmed once its tones have lasted 40 ms (Q.24's shortest digit).
//!
//! Blocks are short so that a digit's edges are found to within a block; the checks that
//! tell a keypad from a voice are made over the last 40 ms of a run of blocks, combined
//! coherently (one long window, its frequency resolution 25 Hz), so that speech under a tone
//! spreads its energy out of the tones' bins instead of into them.
//!
//! It says where keypad tones are, never which digit was typed: the digits are what the
//! masking exists to forget.

use std::f64::consts::TAU;

/// The DTMF frequencies: the low group (rows of the keypad), then the high group (columns).
const FREQS: [f64; 8] = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0];

/// 10 ms blocks: a 40 ms digit fills three of them whatever its alignment, and its edges are
/// placed to within one.
const BLOCKS_PER_SECOND: u32 = 100;

/// Blocks combined for the checks: 40 ms.
const WINDOW: usize = 4;

/// Blocks kept: a window, and the block before it (whose phase the first one's is measured
/// from).
const HISTORY: usize = WINDOW + 1;

/// How long a digit's tones must last, in blocks, to be confirmed: Q.24's 40 ms, less 3 ms
/// for the measurement of its edges (a block the tones fill only in part counts for that
/// part, measured from their magnitude there).
const MIN_BLOCKS: f64 = 3.7;

/// Blocks in a row that must hold the digit, whatever the edges: 30 ms, so that two blocks
/// of chance agreement and two edges do not make a digit.
const MIN_RUN: u32 = 3;

/// A tone's frequency may be this far from nominal (relative), on average over the window.
/// Q.24: accept ±1.5 %, reject beyond ±3.5 %; 2 % leaves room for noise in the measurement,
/// and keeps out the musical notes nearest a digit's tones that are not on them (G♯5 at
/// −2.5 %, D6 at −2.8 %, A5 at +3.3 %).
const FREQ_TOLERANCE: f64 = 0.02;

/// From one block to the next, a tone's phase may wander this much further (relative
/// frequency): noise and speech under a tone jitter its phase, and the window's average
/// settles it.
const STEP_TOLERANCE: f64 = 0.04;

/// Blocks a confirmed digit may miss and still go on: a burst of speech over a held key
/// does not end it (Q.24 bridges 10 ms; more only masks a little more).
const HANGOVER: u32 = 2;

/// What a block, or a window, must show to hold a digit.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// The louder tone's amplitude, at least (dBFS, a sine's peak).
    min_level_db: f64,
    /// Each tone above every other tone of its group by at least this much (dB).
    dominance_db: f64,
    /// The high tone louder than the low one by at most this much (dB).
    max_high_over_low_db: f64,
    /// The low tone louder than the high one by at most this much (dB).
    max_low_over_high_db: f64,
    /// The two tones carry at least this share of the energy.
    min_share: f64,
}

/// What the window must show to confirm a digit. Level: quieter tones are ignored. Twist:
/// Q.24 practice has the high tone between 8 dB below and 4 dB above the low one; through a
/// 10 ms block a tone 1.5 % off reads up to 1 dB low, hence 9 and 4.5 dB; 12 dB is refused.
/// Dominance: over 40 ms a keypad's tone leads its neighbours by well over 10 dB; 6 dB
/// leaves room for speech in their bins. Share: the tones carry over 90 % of a keypad's
/// energy, and over 70 % with speech 15 dB under them; sine chords with two notes on a
/// digit's frequencies (F5 and F♯6 are 697 and 1477 Hz within 0.3 %) rarely reach 70 %
/// with their other notes, and speech whose harmonics pass over a digit's frequencies never
/// did in half an hour of espeak-ng.
const DIGIT: Limits = Limits {
    min_level_db: -45.0,
    dominance_db: 6.0,
    max_high_over_low_db: 4.5,
    max_low_over_high_db: 9.0,
    min_share: 0.7,
};

/// What a block must show to be part of a digit: the same two tones at the top of their
/// groups, perhaps under something louder, or the part of a tone at its edges. It times a
/// digit, keeps a confirmed one going and finds where it began (looser means more of a tone
/// under speech is masked: the privacy-safe side); alone it confirms nothing.
const BLOCK: Limits = Limits {
    min_level_db: -50.0,
    dominance_db: 0.0,
    max_high_over_low_db: 10.0,
    max_low_over_high_db: 14.0,
    min_share: 0.3,
};

/// A keypad key: low-group index times four plus high-group index.
type Digit = u8;

/// The filters of `digit`'s low and high tones.
fn tones(digit: Digit) -> [usize; 2] {
    [usize::from(digit / 4), 4 + usize::from(digit % 4)]
}

/// A complex number: a Goertzel filter's output.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Complex {
    re: f64,
    im: f64,
}

impl Complex {
    const ONE: Self = Self { re: 1.0, im: 0.0 };

    fn polar(angle: f64) -> Self {
        Self {
            re: angle.cos(),
            im: angle.sin(),
        }
    }

    fn norm_sqr(self) -> f64 {
        self.re * self.re + self.im * self.im
    }

    fn arg(self) -> f64 {
        self.im.atan2(self.re)
    }

    fn mul(self, other: Self) -> Self {
        Self {
            re: self.re * other.re - self.im * other.im,
            im: self.re * other.im + self.im * other.re,
        }
    }

    /// `self * conj(other)`.
    fn mul_conj(self, other: Self) -> Self {
        Self {
            re: self.re * other.re + self.im * other.im,
            im: self.im * other.re - self.re * other.im,
        }
    }

    fn add(self, other: Self) -> Self {
        Self {
            re: self.re + other.re,
            im: self.im + other.im,
        }
    }
}

/// What a block or a window holds, as the checks see it.
#[derive(Debug, Clone, Copy)]
struct Measure {
    low: usize,
    high: usize,
    /// Amplitudes (dBFS) of the strongest low and high tones.
    level_db: [f64; 2],
    /// The weaker group's lead of its best tone over that group's second (dB).
    dominance_db: f64,
    /// The two tones' share of the energy.
    share: f64,
}

impl Measure {
    /// From the filters' powers over `samples` samples that held `energy`.
    fn new(power: &[f64; 8], energy: f64, samples: f64) -> Self {
        let group = |g: &[f64]| {
            let best = (0..4).fold(0, |b, i| if g[i] > g[b] { i } else { b });
            let second = (0..4)
                .filter(|&i| i != best)
                .map(|i| g[i])
                .fold(0.0, f64::max);
            (best, db(g[best] / second))
        };
        let (low, low_lead) = group(&power[..4]);
        let (high, high_lead) = group(&power[4..]);
        // On frequency, a sine of amplitude A gives |X| = A n / 2 over n samples, and
        // carries n A² / 2 of their energy.
        let level = |p: f64| db(4.0 * p / (samples * samples));
        let tone_energy = 2.0 * (power[low] + power[4 + high]) / samples;
        Self {
            low,
            high,
            level_db: [level(power[low]), level(power[4 + high])],
            dominance_db: low_lead.min(high_lead),
            share: if energy > 0.0 {
                tone_energy / energy
            } else {
                0.0
            },
        }
    }

    fn digit(&self, limits: &Limits) -> Option<Digit> {
        let [low, high] = self.level_db;
        let holds = low.max(high) >= limits.min_level_db
            && self.dominance_db >= limits.dominance_db
            && high - low <= limits.max_high_over_low_db
            && low - high <= limits.max_low_over_high_db
            && self.share >= limits.min_share;
        holds.then_some((self.low * 4 + self.high) as Digit)
    }
}

/// Where masking must start and end, in samples of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// A digit is confirmed: mask from this sample (its onset less the guard) onwards.
    Start(u64),
    /// The digit is over: mask up to (not including) this sample (its end plus the guard).
    End(u64),
}

/// One block's filter outputs and energy.
#[derive(Debug, Clone, Copy, Default)]
struct Block {
    out: [Complex; 8],
    energy: f64,
}

/// Consecutive blocks holding one digit, each on frequency with the one before.
#[derive(Debug, Clone, Copy)]
struct Run {
    digit: Digit,
    /// The first block's first sample.
    start: u64,
    blocks: u32,
    /// The two tones' magnitudes, summed over the run's blocks.
    sum: [f64; 2],
    /// The two tones' magnitudes in the block before the run, if they led into it.
    before: [f64; 2],
}

impl Run {
    /// How many blocks the tones lasted: the run's, and the part of the blocks either side
    /// that they filled. A tone filling a fraction `q` of a block has `q` times its
    /// magnitude over a whole one (or more, off frequency), so edges are measured.
    fn length(&self, after: [f64; 2]) -> f64 {
        if self.blocks < MIN_RUN {
            return 0.0;
        }
        let fill = |edge: [f64; 2]| {
            (0..2)
                .map(|t| edge[t] * f64::from(self.blocks) / self.sum[t].max(f64::MIN_POSITIVE))
                .fold(1.0, f64::min)
        };
        f64::from(self.blocks) + fill(self.before) + fill(after)
    }
}

/// A confirmed digit, masked while its tones last.
#[derive(Debug, Clone, Copy)]
struct Active {
    digit: Digit,
    /// The end of the last block that held it.
    last: u64,
    /// Blocks since then that did not.
    missed: u32,
}

/// A streaming DTMF detector on one input's sample clock.
#[derive(Debug, Clone)]
pub(super) struct Detector {
    rate: u32,
    block: usize,
    guard: u64,
    /// `2 cos ω` for each frequency: the Goertzel recurrence.
    coeff: [f64; 8],
    /// `e^{-jω}`: turns the recurrence's last two states into the filter's output.
    tail: [Complex; 8],
    /// `e^{-jωN}`: how far a tone exactly on frequency turns from one block to the next.
    advance: [Complex; 8],
    s1: [f64; 8],
    s2: [f64; 8],
    energy: f64,
    filled: usize,
    /// The first sample of the block being filled.
    block_start: u64,
    /// The last [`HISTORY`] blocks, a ring: the newest at `(blocks - 1) % HISTORY`.
    recent: [Block; HISTORY],
    /// Blocks completed.
    blocks: u64,
    /// The previous block's verdict.
    prev_digit: Option<Digit>,
    /// The digit whose tones are being timed.
    run: Option<Run>,
    /// Consecutive blocks of one digit, and where they began: how far back an onset
    /// blurred by speech reaches.
    loose: Option<(Digit, u64)>,
    /// The confirmed digit being masked.
    active: Option<Active>,
}

impl Detector {
    /// A detector for input at `rate` Hz (at least 8 kHz, checked by the caller), masking
    /// `guard` samples either side of each tone.
    pub(super) fn new(rate: u32, guard: u64) -> Self {
        let block = (rate / BLOCKS_PER_SECOND).max(1) as usize;
        let omega = FREQS.map(|f| TAU * f / f64::from(rate));
        Self {
            rate,
            block,
            guard,
            coeff: omega.map(|w| 2.0 * w.cos()),
            tail: omega.map(|w| Complex::polar(-w)),
            advance: omega.map(|w| Complex::polar(-w * block as f64)),
            s1: [0.0; 8],
            s2: [0.0; 8],
            energy: 0.0,
            filled: 0,
            block_start: 0,
            recent: [Block::default(); HISTORY],
            blocks: 0,
            prev_digit: None,
            run: None,
            loose: None,
            active: None,
        }
    }

    /// Samples per block.
    pub(super) fn block(&self) -> usize {
        self.block
    }

    /// Feeds the next samples; `on` hears where masking starts and ends. Real-time safe.
    pub(super) fn feed(&mut self, mut samples: &[f32], mut on: impl FnMut(Event)) {
        while !samples.is_empty() {
            let k = (self.block - self.filled).min(samples.len());
            for &x in &samples[..k] {
                let x = f64::from(x);
                self.energy += x * x;
                for i in 0..8 {
                    let s0 = x + self.coeff[i] * self.s1[i] - self.s2[i];
                    self.s2[i] = self.s1[i];
                    self.s1[i] = s0;
                }
            }
            self.filled += k;
            samples = &samples[k..];
            if self.filled == self.block {
                self.end_block(&mut on);
            }
        }
    }

    /// The input is over: a digit still sounding ends here (plus the guard). Real-time safe.
    pub(super) fn finish(&mut self, mut on: impl FnMut(Event)) {
        if let Some(active) = self.active.take() {
            on(Event::End(active.last + self.guard));
        }
    }

    /// The block `back` blocks before the newest (at most [`WINDOW`]).
    fn recent(&self, back: usize) -> &Block {
        let newest = (self.blocks as usize + HISTORY - 1) % HISTORY;
        &self.recent[(newest + HISTORY - back) % HISTORY]
    }

    fn end_block(&mut self, on: &mut impl FnMut(Event)) {
        // The recurrence's output is s[N-1] - e^{-jω} s[N-2].
        let out: [Complex; 8] = std::array::from_fn(|i| Complex {
            re: self.s1[i] - self.tail[i].re * self.s2[i],
            im: -self.tail[i].im * self.s2[i],
        });
        let block = Block {
            out,
            energy: self.energy,
        };
        self.recent[self.blocks as usize % HISTORY] = block;
        self.blocks += 1;
        let start = self.block_start;
        let end = start + self.block as u64;
        let digit = Measure::new(&out.map(Complex::norm_sqr), block.energy, self.block as f64)
            .digit(&BLOCK);
        self.track(digit, start, end, on);
        self.prev_digit = digit;
        self.s1 = [0.0; 8];
        self.s2 = [0.0; 8];
        self.energy = 0.0;
        self.filled = 0;
        self.block_start = end;
    }

    /// The frequency offset (relative) of filter `i`'s tone from the block `back + 1` blocks
    /// ago to the one `back` blocks ago: a tone `δf` off turns `2π δf N / rate` further per
    /// block than the filter expects. Unambiguous up to ±50 Hz; further off, the dominance
    /// and share checks fail.
    fn offset(&self, i: usize, back: usize) -> f64 {
        let turn = self.recent(back).out[i]
            .mul_conj(self.recent(back + 1).out[i])
            .mul(self.advance[i]);
        self.hz(turn.arg()) / FREQS[i]
    }

    fn hz(&self, turn: f64) -> f64 {
        turn / TAU * f64::from(self.rate) / self.block as f64
    }

    /// Whether `digit`'s tones in the previous block continue into the newest on frequency:
    /// the edge of a tone does; speech whose harmonics glide across a digit's frequencies
    /// mostly does not.
    fn continues(&self, digit: Digit) -> bool {
        self.blocks >= 2
            && tones(digit)
                .iter()
                .all(|&i| self.offset(i, 0).abs() <= STEP_TOLERANCE)
    }

    fn magnitudes(&self, back: usize, digit: Digit) -> [f64; 2] {
        tones(digit).map(|i| self.recent(back).out[i].norm_sqr().sqrt())
    }

    /// Whether the last `blocks` blocks (up to [`WINDOW`]), `skip` blocks back, hold `digit`
    /// when combined into one window. Each filter's outputs are turned back by the phase a
    /// tone on its frequency advances, and the digit's two tones by their measured offset
    /// too, so that they add up coherently; anything else adds up only in power.
    fn window_holds(&self, digit: Digit, blocks: u32, skip: usize) -> bool {
        let w = (blocks as usize).min(WINDOW);
        let tones = tones(digit);
        let mut sum = [Complex::default(); 8];
        let mut energy = 0.0;
        for (i, s) in sum.iter_mut().enumerate() {
            // The mean turn per block beyond the nominal: the tone's offset.
            let correction = if tones.contains(&i) {
                let turn = (skip..skip + w - 1).fold(Complex::default(), |acc, back| {
                    acc.add(
                        self.recent(back).out[i]
                            .mul_conj(self.recent(back + 1).out[i])
                            .mul(self.advance[i]),
                    )
                });
                if (self.hz(turn.arg()) / FREQS[i]).abs() > FREQ_TOLERANCE {
                    return false;
                }
                Complex::polar(-turn.arg())
            } else {
                Complex::ONE
            };
            let step = self.advance[i].mul(correction);
            let mut turn = Complex::ONE;
            for back in (skip..skip + w).rev() {
                *s = s.add(self.recent(back).out[i].mul(turn));
                turn = turn.mul(step);
            }
        }
        for back in skip..skip + w {
            energy += self.recent(back).energy;
        }
        let measure = Measure::new(&sum.map(Complex::norm_sqr), energy, (w * self.block) as f64);
        measure.digit(&DIGIT) == Some(digit)
    }

    fn track(&mut self, digit: Option<Digit>, start: u64, end: u64, on: &mut impl FnMut(Event)) {
        self.loose = match (digit, self.loose) {
            (Some(d), Some((l, from))) if d == l => Some((d, from)),
            (Some(d), _) => Some((d, start)),
            (None, _) => None,
        };
        if let Some(active) = self.active.as_mut() {
            if digit == Some(active.digit) {
                active.last = end;
                active.missed = 0;
                return;
            }
            if active.missed < HANGOVER {
                active.missed += 1;
                return;
            }
            on(Event::End(active.last + self.guard));
            self.active = None;
        }
        let continued = match (digit, self.run) {
            (Some(d), Some(run)) if d == run.digit && self.continues(d) => Some(d),
            _ => None,
        };
        if let Some(d) = continued {
            let m = self.magnitudes(0, d);
            if let Some(run) = self.run.as_mut() {
                run.blocks += 1;
                run.sum = [run.sum[0] + m[0], run.sum[1] + m[1]];
            }
        } else {
            if let Some(run) = self.run.take() {
                // The tones may end inside this block: it counts for the part they fill.
                let after = if digit != Some(run.digit) && self.continues(run.digit) {
                    self.magnitudes(0, run.digit)
                } else {
                    [0.0; 2]
                };
                if run.length(after) >= MIN_BLOCKS && self.window_holds(run.digit, run.blocks, 1) {
                    self.confirm(run, end, on);
                    return;
                }
            }
            self.run = digit.map(|d| {
                // A block of the same digit off frequency broke a run: it is no edge.
                let before = if self.prev_digit != Some(d) && self.continues(d) {
                    self.magnitudes(1, d)
                } else {
                    [0.0; 2]
                };
                Run {
                    digit: d,
                    start,
                    blocks: 1,
                    sum: self.magnitudes(0, d),
                    before,
                }
            });
        }
        if let Some(run) = self.run
            && run.length([0.0; 2]) >= MIN_BLOCKS
            && self.window_holds(run.digit, run.blocks, 0)
        {
            self.confirm(run, end, on);
        }
    }

    /// Masks `run`'s digit from its onset (or from where the same tones began under
    /// something louder) until it ends, at the earliest at `end`.
    fn confirm(&mut self, run: Run, end: u64, on: &mut impl FnMut(Event)) {
        let onset = match self.loose {
            Some((digit, from)) if digit == run.digit => from.min(run.start),
            _ => run.start,
        };
        on(Event::Start(onset.saturating_sub(self.guard)));
        self.active = Some(Active {
            digit: run.digit,
            last: end,
            missed: 0,
        });
        self.run = None;
    }
}

/// Decibels of a power ratio.
fn db(ratio: f64) -> f64 {
    10.0 * ratio.max(1e-30).log10()
}
