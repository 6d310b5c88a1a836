//! Level meters for the agent's window: RMS and peak per block of samples.

/// One level reading.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Level {
    /// Root mean square over the block, 0..=1.
    pub rms: f32,
    /// Largest absolute sample in the block, 0..=1.
    pub peak: f32,
}

/// Accumulates samples and yields a [`Level`] every `block` samples (e.g. `rate / 20` for
/// about 20 readings a second).
#[derive(Debug, Clone)]
pub struct Meter {
    block: usize,
    count: usize,
    sum_sq: f64,
    peak: f32,
}

impl Meter {
    /// A meter that reads every `block` samples (at least 1).
    pub fn new(block: usize) -> Self {
        Self {
            block: block.max(1),
            count: 0,
            sum_sq: 0.0,
            peak: 0.0,
        }
    }

    /// Feeds samples; calls `emit` for each completed block. Real-time safe (no allocation).
    pub fn feed(&mut self, samples: &[f32], mut emit: impl FnMut(Level)) {
        for &s in samples {
            self.sum_sq += f64::from(s) * f64::from(s);
            self.peak = self.peak.max(s.abs());
            self.count += 1;
            if self.count == self.block {
                emit(Level {
                    rms: (self.sum_sq / self.block as f64).sqrt() as f32,
                    peak: self.peak,
                });
                self.count = 0;
                self.sum_sq = 0.0;
                self.peak = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_reads_rms_of_one_over_root_two() {
        let rate = 16_000;
        let sine: Vec<f32> = (0..rate)
            .map(|i| (std::f32::consts::TAU * 500.0 * i as f32 / rate as f32).sin())
            .collect();
        let mut levels = Vec::new();
        let mut meter = Meter::new(rate / 20);
        meter.feed(&sine, |l| levels.push(l));
        assert_eq!(levels.len(), 20);
        for l in levels {
            assert!(
                (l.rms - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.01,
                "{l:?}"
            );
            assert!(l.peak > 0.99);
        }
    }

    #[test]
    fn silence_reads_zero() {
        let mut levels = Vec::new();
        Meter::new(10).feed(&[0.0; 25], |l| levels.push(l));
        assert_eq!(levels, [Level::default(); 2]);
    }
}
