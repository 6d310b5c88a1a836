//! Counters that wrap on the wire (RTP timestamps at 32 bits, sequence numbers at 16), read
//! as 64-bit values that go on through the wrap.

/// `value`, a counter of `bits` bits, extended next to `last` (the nearest of the three
/// candidates around it). The first value (`last` is `None`) is placed one cycle up, so that
/// values a little before it still extend without going below zero.
pub(crate) fn nearest(last: Option<u64>, value: u64, bits: u32) -> u64 {
    let cycle = 1u64 << bits;
    let Some(last) = last else {
        return value + cycle;
    };
    let base = last & !(cycle - 1);
    [base.saturating_sub(cycle), base, base + cycle]
        .into_iter()
        .map(|b| b + value)
        .min_by_key(|c| c.abs_diff(last))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn values_go_on_through_the_wrap_and_back() {
        let first = nearest(None, 0xFFFF_FF00, 32);
        let after = nearest(Some(first), 0x100, 32);
        assert_eq!(after - first, 0x200, "forward through the wrap");
        assert_eq!(
            nearest(Some(after), 0xFFFF_FFF0, 32),
            first + 0xF0,
            "back before it"
        );
        let seq = nearest(None, 65_535, 16);
        assert_eq!(nearest(Some(seq), 2, 16), seq + 3);
    }
}
