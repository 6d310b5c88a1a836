//! Every key at every level and length, off frequency, with twist; what must not be masked;
//! where stretches are; the streaming source against the buffer function.

use std::ops::Range;

use rstest::rstest;

use super::*;
use crate::source::{Read, Source};

const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Two sines, each at its own level (dBFS of its peak), for `ms`.
fn dual(rate: u32, (low, low_db): (f64, f64), (high, high_db): (f64, f64), ms: u32) -> Vec<f32> {
    let n = (u64::from(rate) * u64::from(ms) / 1000) as usize;
    let (a, b) = (10f64.powf(low_db / 20.0), 10f64.powf(high_db / 20.0));
    let w = |f: f64| std::f64::consts::TAU * f / f64::from(rate);
    (0..n)
        .map(|i| {
            let t = i as f64;
            (a * (w(low) * t).sin() + b * (w(high) * t + 1.0).sin()) as f32
        })
        .collect()
}

/// Key `key` (0 to 15: rows then columns) at `db` dBFS per tone, each tone `detune` off.
fn key(rate: u32, key: usize, db: f64, ms: u32, detune: (f64, f64)) -> Vec<f32> {
    let low = LOW[key / 4] * (1.0 + detune.0);
    let high = HIGH[key % 4] * (1.0 + detune.1);
    dual(rate, (low, db), (high, db), ms)
}

/// `sound` after `lead` samples of silence and before 300 ms more; and where it is.
fn placed(rate: u32, sound: &[f32], lead: usize) -> (Vec<f32>, Range<usize>) {
    let mut all = vec![0.0; lead];
    all.extend_from_slice(sound);
    all.resize(all.len() + rate as usize * 3 / 10, 0.0);
    (all, lead..lead + sound.len())
}

fn mask(input: &[f32], rate: u32) -> (Vec<f32>, Vec<(u64, u64)>) {
    let mut out = input.to_vec();
    let stretches = mask_buffer(&mut out, rate).expect("mask");
    (out, stretches)
}

/// Samples in stretches are 0.0, every other one is the input's, bit for bit.
fn assert_only_stretches_changed(input: &[f32], out: &[f32], stretches: &[(u64, u64)]) {
    assert_eq!(input.len(), out.len());
    for (i, (a, b)) in input.iter().zip(out).enumerate() {
        let i = i as u64;
        if stretches.iter().any(|&(from, to)| (from..to).contains(&i)) {
            assert_eq!(b.to_bits(), 0.0f32.to_bits(), "sample {i} is masked");
        } else {
            assert_eq!(a.to_bits(), b.to_bits(), "sample {i} is untouched");
        }
    }
}

/// `sound` at `at` was masked whole, as one stretch no wider than a block and a guard
/// either side.
fn assert_masked(rate: u32, input: &[f32], at: &Range<usize>, what: &str) {
    let (out, stretches) = mask(input, rate);
    assert_only_stretches_changed(input, &out, &stretches);
    let left = out[at.clone()].iter().filter(|s| **s != 0.0).count();
    assert_eq!(left, 0, "{what}: {left} samples of the tone left");
    assert_eq!(stretches.len(), 1, "{what}: {stretches:?}");
    let slack = samples_of(GUARD, rate) + u64::from(rate) / 100;
    let (from, to) = stretches[0];
    assert!(
        from + slack >= at.start as u64,
        "{what}: from {from}, tone at {at:?}"
    );
    assert!(
        to <= at.end as u64 + slack,
        "{what}: to {to}, tone at {at:?}"
    );
}

fn assert_untouched(rate: u32, input: &[f32], what: &str) {
    let (out, stretches) = mask(input, rate);
    assert!(stretches.is_empty(), "{what}: masked {stretches:?}");
    assert!(
        input
            .iter()
            .zip(&out)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{what}"
    );
}

/// Silence before a tone, varied so that tones fall anywhere on the 10 ms block grid.
fn lead(rate: u32, k: usize) -> usize {
    rate as usize / 5 + (k * 7_919) % (rate as usize / 100)
}

#[rstest]
fn every_key_is_masked_from_onset_to_end(
    #[values(8_000, 48_000)] rate: u32,
    #[values(-10.0, -20.0, -30.0)] db: f64,
    #[values(40, 50, 100, 250)] ms: u32,
) {
    for k in 0..16 {
        let (input, at) = placed(
            rate,
            &key(rate, k, db, ms, (0.0, 0.0)),
            lead(rate, k + ms as usize),
        );
        assert_masked(
            rate,
            &input,
            &at,
            &format!("key {k}, {db} dBFS, {ms} ms at {rate} Hz"),
        );
    }
}

#[rstest]
fn keys_are_masked_at_every_rate(#[values(16_000, 24_000, 32_000, 44_100)] rate: u32) {
    for k in 0..16 {
        let (input, at) = placed(rate, &key(rate, k, -20.0, 40, (0.0, 0.0)), lead(rate, k));
        assert_masked(rate, &input, &at, &format!("key {k} at {rate} Hz"));
    }
}

#[rstest]
fn keys_1_5_percent_off_are_masked(
    #[values(8_000, 48_000)] rate: u32,
    #[values((0.015, 0.015), (-0.015, -0.015), (0.015, -0.015), (-0.015, 0.015))] detune: (
        f64,
        f64,
    ),
) {
    for k in 0..16 {
        let (input, at) = placed(rate, &key(rate, k, -20.0, 40, detune), lead(rate, k));
        assert_masked(rate, &input, &at, &format!("key {k} off by {detune:?}"));
    }
}

#[rstest]
fn keys_3_5_percent_off_or_more_are_not_masked(
    #[values(8_000, 48_000)] rate: u32,
    #[values(0.035, -0.035, 0.05, -0.05)] off: f64,
) {
    for k in 0..16 {
        // Either tone off is enough.
        for detune in [(off, 0.0), (0.0, off)] {
            let (input, _) = placed(rate, &key(rate, k, -20.0, 100, detune), lead(rate, k));
            assert_untouched(rate, &input, &format!("key {k} off by {detune:?}"));
        }
    }
}

#[rstest]
#[case::a_thousand_hertz(1000.0)]
#[case::the_lowest_row_alone(697.0)]
#[case::the_highest_row_alone(941.0)]
#[case::the_first_column_alone(1209.0)]
#[case::the_last_column_alone(1633.0)]
fn a_single_tone_is_not_masked(#[case] freq: f64) {
    for rate in [8_000, 48_000] {
        let tone = dual(rate, (freq, -10.0), (freq, -200.0), 1000);
        let (input, _) = placed(rate, &tone, lead(rate, 1));
        assert_untouched(rate, &input, &format!("{freq} Hz at {rate} Hz"));
    }
}

#[rstest]
#[case::high_12_db_under(-12.0, false)]
#[case::high_12_db_over(12.0, false)]
#[case::high_8_db_under(-8.0, true)]
#[case::high_4_db_over(4.0, true)]
fn twist_beyond_q24_is_not_masked(#[case] high_over_low: f64, #[case] masked: bool) {
    for rate in [8_000, 48_000] {
        for k in 0..16 {
            let tone = dual(
                rate,
                (LOW[k / 4], -15.0),
                (HIGH[k % 4], -15.0 + high_over_low),
                100,
            );
            let (input, at) = placed(rate, &tone, lead(rate, k));
            let what = format!("key {k}, high {high_over_low} dB over low at {rate} Hz");
            if masked {
                assert_masked(rate, &input, &at, &what);
            } else {
                assert_untouched(rate, &input, &what);
            }
        }
    }
}

#[test]
fn keys_below_the_minimum_level_and_shorter_than_a_digit_are_not_masked() {
    for rate in [8_000, 48_000] {
        let (quiet, _) = placed(rate, &key(rate, 5, -55.0, 200, (0.0, 0.0)), lead(rate, 2));
        assert_untouched(rate, &quiet, "a key at -55 dBFS");
        let (short, _) = placed(rate, &key(rate, 5, -10.0, 20, (0.0, 0.0)), lead(rate, 3));
        assert_untouched(rate, &short, "a 20 ms key");
    }
}

#[test]
fn noise_is_not_masked() {
    let rate = 8_000;
    let mut state = 1u32;
    let noise: Vec<f32> = (0..rate * 20)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 24) as f32 * 0.2 - 0.1
        })
        .collect();
    assert_untouched(rate, &noise, "white noise");
}

/// Keys at known places, several per buffer, the last one running to its end.
fn sequence(rate: u32) -> (Vec<f32>, Vec<Range<usize>>) {
    let mut all = vec![0.0; 1_234];
    let mut keys = Vec::new();
    for (k, ms) in [(1, 60), (14, 45), (7, 300), (0, 40), (11, 90)] {
        let tone = key(rate, k, -15.0, ms, (0.0, 0.0));
        keys.push(all.len()..all.len() + tone.len());
        all.extend(tone);
        all.resize(all.len() + rate as usize / 7, 0.0);
    }
    let tone = key(rate, 3, -15.0, 80, (0.0, 0.0));
    keys.push(all.len()..all.len() + tone.len());
    all.extend(tone);
    (all, keys)
}

#[test]
fn stretches_are_where_the_keys_are() {
    let rate = 16_000;
    let (input, keys) = sequence(rate);
    let (out, stretches) = mask(&input, rate);
    assert_only_stretches_changed(&input, &out, &stretches);
    assert_eq!(stretches.len(), keys.len(), "{stretches:?}");
    let guard = samples_of(GUARD, rate);
    let block = u64::from(rate) / 100;
    for ((from, to), key) in stretches.iter().zip(&keys) {
        let (start, end) = (key.start as u64, key.end as u64);
        assert!(
            *from <= start && *from + guard + block >= start,
            "{from} for {key:?}"
        );
        assert!(*to >= end && *to <= end + guard + block, "{to} for {key:?}");
    }
    // The last key runs to the end of the input: its stretch stops there.
    assert_eq!(stretches.last().map(|s| s.1), Some(input.len() as u64));
}

#[test]
fn a_key_at_the_very_start_is_masked_from_sample_zero() {
    let rate = 8_000;
    let (input, at) = placed(rate, &key(rate, 9, -20.0, 60, (0.0, 0.0)), 0);
    assert_masked(rate, &input, &at, "a key at sample 0");
    assert_eq!(mask(&input, rate).1[0].0, 0);
}

#[test]
fn rates_below_8_khz_are_refused() {
    assert!(KeypadMasker::new(4_000).is_err());
    assert!(mask_buffer(&mut [0.0; 10], 0).is_err());
}

/// A live source: the samples arrive in uneven pieces, with nothing between them.
struct Pieces {
    samples: Vec<f32>,
    rate: u32,
    pos: usize,
    calls: usize,
}

impl Source for Pieces {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, out: &mut [f32]) -> crate::Result<Read> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            return Ok(Read::Pending);
        }
        if self.pos == self.samples.len() {
            return Ok(Read::End);
        }
        let n = out
            .len()
            .min([1, 160, 33, 480, 1_000][self.calls % 5])
            .min(self.samples.len() - self.pos);
        out[..n].copy_from_slice(&self.samples[self.pos..self.pos + n]);
        self.pos += n;
        Ok(Read::Samples(n))
    }
}

#[rstest]
fn the_source_delivers_what_the_buffer_function_does_a_lookahead_later(
    #[values(8_000, 44_100)] rate: u32,
) {
    let (input, _) = sequence(rate);
    let (expected, expected_stretches) = mask(&input, rate);
    let mut masked = KeypadMasked::new(Pieces {
        samples: input.clone(),
        rate,
        pos: 0,
        calls: 0,
    })
    .expect("masker");
    let stretches = masked.stretches();
    assert_eq!(masked.rate(), rate);
    assert_eq!(masked.lookahead() as u64, samples_of(LOOKAHEAD, rate));
    let mut out = Vec::new();
    let mut buf = vec![0.0; 700];
    loop {
        match masked.read(&mut buf).expect("read") {
            Read::Samples(n) => out.extend_from_slice(&buf[..n]),
            Read::Pending => {
                // Live, it has delivered all it could: everything but the lookahead.
                let delivered = masked.inner().pos;
                assert_eq!(out.len(), delivered.saturating_sub(masked.lookahead()));
            }
            Read::End => break,
        }
        assert!(!stretches.is_complete());
    }
    assert_eq!(out.len(), input.len());
    assert!(
        out.iter()
            .zip(&expected)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    assert!(stretches.is_complete());
    assert_eq!(stretches.all(), expected_stretches);
    assert_eq!(
        stretches.clone().all(),
        expected_stretches,
        "clones share the list"
    );
    assert_eq!(masked.read(&mut buf).expect("read"), Read::End);
}
