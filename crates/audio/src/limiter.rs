//! A peak limiter: sums of voices that would overflow are turned down smoothly instead of
//! clipped hard.

/// Keeps `|output| <= ceiling` with an instant attack and a smooth release, so a lone voice
/// passes untouched and only overloads are turned down.
#[derive(Debug, Clone)]
pub struct Limiter {
    ceiling: f32,
    gain: f32,
    release: f32,
}

impl Limiter {
    /// The usual ceiling: just under full scale.
    pub const CEILING: f32 = 0.98;

    /// Whether the limiter is at unity gain (nothing to release): then a block whose samples
    /// all stay under the ceiling passes unchanged.
    pub fn is_idle(&self) -> bool {
        self.gain >= 1.0
    }

    /// A limiter at `ceiling` (e.g. 0.98) that recovers with a time constant of `release_ms`
    /// at `rate`.
    pub fn new(rate: u32, ceiling: f32, release_ms: f32) -> Self {
        let samples = (release_ms / 1000.0 * rate as f32).max(1.0);
        Self {
            ceiling,
            gain: 1.0,
            release: 1.0 - (-1.0 / samples).exp(),
        }
    }

    /// Limits one sample. Real-time safe.
    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let magnitude = x.abs();
        let target = if magnitude > self.ceiling {
            self.ceiling / magnitude
        } else {
            1.0
        };
        if target < self.gain {
            self.gain = target;
        } else {
            self.gain += (target - self.gain) * self.release;
            // Within 0.001 dB of unity: snap, or f32 rounding would leave it just short forever.
            if self.gain > 0.9999 {
                self.gain = 1.0;
            }
        }
        x * self.gain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_signals_pass_untouched() {
        let mut l = Limiter::new(16_000, 0.98, 50.0);
        for x in [0.0, 0.5, -0.9, 0.97, 0.0] {
            assert_eq!(l.process(x), x);
        }
    }

    #[test]
    fn overloads_never_exceed_the_ceiling_and_recover() {
        let mut l = Limiter::new(16_000, 0.98, 50.0);
        for i in 0..1600 {
            let x = 1.8 * (i as f32 * 0.3).sin();
            assert!(l.process(x).abs() <= 0.98 + 1e-6);
        }
        // After the overload, the gain recovers towards unity within a few release times.
        let mut last = 0.0;
        for _ in 0..16_000 {
            last = l.process(0.5);
        }
        assert!((last - 0.5).abs() < 1e-3, "{last}");
        assert!(l.is_idle(), "back at unity gain");
    }
}
