//! Exponential backoff with full jitter: retries spread out instead of 500 agents hammering a
//! store that just came back.

use std::time::Duration;

use rand::Rng;

/// First retry after about this long.
const BASE: Duration = Duration::from_secs(2);
/// Never wait longer than this between attempts.
const CAP: Duration = Duration::from_secs(10 * 60);

/// How long to wait before attempt `attempt` (1 = the first retry): a random duration up to
/// `min(CAP, BASE * 2^(attempt-1))`, at least a tenth of that.
pub fn retry_delay(attempt: u32) -> Duration {
    let ceiling = BASE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(CAP);
    let floor = ceiling / 10;
    let span = (ceiling - floor).as_millis() as u64;
    floor + Duration::from_millis(rand::rng().random_range(0..=span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap_and_vary() {
        for attempt in 1..40 {
            let d = retry_delay(attempt);
            assert!(d <= CAP, "{attempt}: {d:?}");
        }
        assert!(retry_delay(1) <= BASE);
        let samples: std::collections::HashSet<_> = (0..20).map(|_| retry_delay(8)).collect();
        assert!(samples.len() > 1, "jitter spreads retries");
        assert!((0..20).map(|_| retry_delay(30)).all(|d| d >= CAP / 10));
    }
}
