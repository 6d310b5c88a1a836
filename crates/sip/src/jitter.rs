//! The adaptive jitter buffer: received RTP frames in, a steady stream of samples out on the
//! call's clock.
//!
//! Each frame's RTP timestamp is mapped onto the call clock from the first frame that
//! arrives (its arrival instant stands for its timestamp) plus the playout delay, so the
//! samples of a leg land in the recording where the agent heard them. The delay adapts to
//! the network: it follows the RFC 3550 interarrival jitter (times four, between
//! [`MIN_DELAY`] and [`MAX_DELAY`]) and only changes during silence between talk spurts or
//! by whole frames, never by stretching speech. A frame that has not arrived when due is
//! concealed (the last frame repeated, fading out over [`CONCEAL_FRAMES`]), then silence;
//! a frame that arrives after its turn is dropped and counted. A comfort-noise packet
//! (RFC 3389) starts the peer's silence: from its turn until the next voice, the buffer
//! plays noise at the level it names, and the frames the peer no longer sends are not
//! losses.

use std::collections::BTreeMap;
use std::time::Duration;

/// The least playout delay.
pub const MIN_DELAY: Duration = Duration::from_millis(40);
/// The most playout delay.
pub const MAX_DELAY: Duration = Duration::from_millis(300);
/// Frames concealed by repetition before silence.
pub const CONCEAL_FRAMES: u32 = 3;
/// A frame whose playout time is this far from its arrival (plus the delay) means the
/// stream's timing changed (a new source, a jump of its timestamps): start over from it.
pub const RESYNC_AFTER: Duration = Duration::from_secs(1);
/// Late frames in a row that mean the network's delay stepped up: start over.
const LATE_IN_A_ROW: u32 = 10;

/// What the buffer did so far: shown to people, reported by the benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Frames received.
    pub received: u64,
    /// Frames that arrived after their playout time.
    pub late: u64,
    /// Frames received twice.
    pub duplicate: u64,
    /// Frames never received in time (concealed or silent).
    pub lost: u64,
    /// The playout delay now.
    pub delay: Duration,
}

/// What a received packet holds for its turn.
#[derive(Debug)]
enum Frame {
    Voice(Vec<f32>),
    /// Comfort noise at this level (−dBov, 0..=127).
    Noise(u8),
}

/// Frames of one RTP stream waiting for their turn.
#[derive(Debug)]
pub struct JitterBuffer {
    rate: u32,
    /// Extended timestamp → what plays then.
    frames: BTreeMap<u64, Frame>,
    /// The first frame: (extended timestamp, arrival on the call clock).
    anchor: Option<(u64, Duration)>,
    /// The last extended timestamp seen (for unwrapping).
    last_ts: Option<u64>,
    /// The next extended timestamp to play, once playing.
    next: Option<u64>,
    delay: Duration,
    /// RFC 3550 interarrival jitter, in seconds.
    jitter: f64,
    /// The previous frame's transit time (arrival − timestamp), in seconds.
    transit: Option<f64>,
    /// The last frame played, for concealment.
    last_played: Vec<f32>,
    concealed: u32,
    /// Samples of the frame being played that are still to come out.
    pending: Vec<f32>,
    /// Late frames in a row.
    late_run: u32,
    /// The comfort noise's level while the peer is silent (since its CN packet played).
    comfort: Option<u8>,
    /// The noise generator's state (xorshift).
    noise_state: u32,
    /// Stretches (extended timestamps, from..to) the peer spent sending keypad events: voice
    /// there is dropped, so in-band tones never reach the recording.
    events: Vec<(u64, u64)>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for a stream sampled at `rate` (8000 for G.711).
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            frames: BTreeMap::new(),
            anchor: None,
            last_ts: None,
            next: None,
            delay: MIN_DELAY,
            jitter: 0.0,
            transit: None,
            last_played: Vec::new(),
            concealed: 0,
            pending: Vec::new(),
            late_run: 0,
            comfort: None,
            noise_state: 0x9E37_79B9,
            events: Vec::new(),
            stats: JitterStats {
                delay: MIN_DELAY,
                ..JitterStats::default()
            },
        }
    }

    /// Unwraps a 32-bit RTP timestamp next to the last one seen.
    fn extend(&mut self, ts: u32) -> u64 {
        let ext = crate::wrap::nearest(self.last_ts, u64::from(ts), 32);
        self.last_ts = Some(self.last_ts.map_or(ext, |l| l.max(ext)));
        ext
    }

    fn seconds(&self, samples: u64) -> f64 {
        samples as f64 / f64::from(self.rate)
    }

    /// The call-clock instant a timestamp plays at.
    fn playout(&self, ts: u64) -> Option<Duration> {
        let (t0, a0) = self.anchor?;
        let offset = self.seconds(ts.saturating_sub(t0)) - self.seconds(t0.saturating_sub(ts));
        Some(Duration::from_secs_f64(
            (a0.as_secs_f64() + offset + self.delay.as_secs_f64()).max(0.0),
        ))
    }

    /// A frame arrived at `arrival` (call clock) with RTP timestamp `ts`.
    pub fn push(&mut self, ts: u32, samples: Vec<f32>, arrival: Duration) {
        self.arrived(ts, Frame::Voice(samples), arrival);
    }

    /// A comfort-noise packet (RFC 3389) arrived: the peer is silent from `ts` on, with
    /// background noise at `level` (−dBov; the packet's first byte).
    pub fn push_noise(&mut self, ts: u32, level: u8, arrival: Duration) {
        self.arrived(ts, Frame::Noise(level.min(127)), arrival);
    }

    fn arrived(&mut self, ts: u32, frame: Frame, arrival: Duration) {
        let ext = self.extend(ts);
        self.stats.received += 1;
        let off_by = self.playout(ext).map(|at| {
            let expected = arrival + self.delay;
            at.max(expected) - at.min(expected)
        });
        if off_by.is_some_and(|d| d > RESYNC_AFTER) || self.late_run >= LATE_IN_A_ROW {
            self.resync();
        }
        if self.anchor.is_none() {
            self.anchor = Some((ext, arrival));
        }
        // RFC 3550 A.8: J += (|D| − J) / 16.
        let transit = arrival.as_secs_f64() - self.seconds(ext);
        if let Some(previous) = self.transit {
            let d = (transit - previous).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
        if self.next.is_some_and(|next| ext < next) {
            self.stats.late += 1;
            self.late_run += 1;
            return;
        }
        self.late_run = 0;
        if self
            .events
            .iter()
            .any(|&(from, to)| (from..to).contains(&ext))
        {
            // Voice inside a keypad event: the digit's tone, sent in-band as well.
            return;
        }
        if self.frames.insert(ext, frame).is_some() {
            self.stats.duplicate += 1;
        }
    }

    /// Starts over on the next frame: its arrival becomes the new anchor. What was waiting
    /// belongs to the old timing and is dropped; until the new first frame plays, the leg
    /// is silence on the clock (see [`JitterBuffer::is_playing`]).
    fn resync(&mut self) {
        tracing::info!(
            waiting = self.frames.len(),
            "the RTP stream's timing changed; the jitter buffer starts over"
        );
        self.anchor = None;
        self.last_ts = None;
        self.next = None;
        self.frames.clear();
        self.transit = None;
        self.late_run = 0;
        self.comfort = None;
        self.events.clear();
    }

    /// Marks `[ts, ts + samples)` as silence the peer meant (while it sends keypad events):
    /// frames there play as exact silence, not as concealed losses, whether their voice
    /// arrived before or after (a peer that also sends the tones in-band never gets them
    /// recorded). Nothing here counts as received or lost.
    pub fn silence(&mut self, ts: u32, samples: u32, frame: usize) {
        if frame == 0 {
            return;
        }
        let start = self.extend(ts);
        let end = start + u64::from(samples);
        // Old stretches that can no longer matter are forgotten.
        let played = self.next.unwrap_or(0);
        self.events.retain(|&(_, to)| to > played);
        self.events.push((start, end));
        let mut at = start;
        while at < end {
            if self.next.is_none_or(|next| at >= next) {
                self.frames.insert(at, Frame::Voice(vec![0.0; frame]));
            }
            at += frame as u64;
        }
    }

    /// The delay the jitter calls for now.
    fn target_delay(&self) -> Duration {
        Duration::from_secs_f64(4.0 * self.jitter).clamp(MIN_DELAY, MAX_DELAY)
    }

    /// Writes the samples due by `now` (call clock) into `out`, up to its length; returns how
    /// many. Nothing before the first frame's playout time.
    pub fn pull(&mut self, now: Duration, out: &mut [f32]) -> usize {
        let mut written = 0;
        while written < out.len() {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(out.len() - written);
                out[written..written + n].copy_from_slice(&self.pending[..n]);
                self.pending.drain(..n);
                written += n;
                continue;
            }
            let next = match self.next {
                Some(next) => next,
                None => match self.frames.keys().next() {
                    Some(&first) => first,
                    None => break,
                },
            };
            match self.playout(next) {
                Some(at) if at <= now => {}
                _ => break,
            }
            self.play(next);
        }
        written
    }

    /// Moves the frame at `ts` (or its concealment) into `pending`.
    fn play(&mut self, ts: u64) {
        // A stream that moved by less than a frame (a talk spurt after comfort noise on a
        // grid of its own): the frame due within one frame length is this turn's, rather
        // than dropped as too early and replaced by noise or concealment.
        let ts = if self.frames.contains_key(&ts) {
            ts
        } else {
            let span = self.last_played.len().max(self.rate as usize / 50) as u64;
            self.frames
                .range(ts..ts + span)
                .next()
                .map_or(ts, |(&k, _)| k)
        };
        let frame_len = match self.frames.get(&ts) {
            Some(Frame::Voice(samples)) => samples.len(),
            _ => Some(self.last_played.len())
                .filter(|&n| n > 0)
                .unwrap_or(self.rate as usize / 50),
        };
        // Keys before this one can no longer play (a stream whose timestamps are not whole
        // frames apart): drop them rather than keep them for ever.
        while let Some(entry) = self.frames.first_entry() {
            if *entry.key() >= ts {
                break;
            }
            entry.remove();
        }
        match self.frames.remove(&ts) {
            Some(Frame::Voice(frame)) => {
                self.concealed = 0;
                self.comfort = None;
                self.pending.extend_from_slice(&frame);
                self.last_played = frame;
            }
            Some(Frame::Noise(level)) => {
                self.concealed = 0;
                self.comfort = Some(level);
                self.noise(level, frame_len);
            }
            // The peer's silence: nothing is sent meanwhile, and nothing is lost.
            None if let Some(level) = self.comfort => self.noise(level, frame_len),
            None => self.lost(frame_len),
        }
        self.next = Some(ts + frame_len as u64);
        // Adapt between frames: grow at once when the network got worse, shrink only while
        // nothing is waiting (silence), so speech is never cut.
        let target = self.target_delay();
        if target > self.delay || (self.frames.is_empty() && target < self.delay) {
            self.delay = target;
            self.stats.delay = target;
        }
        // Far behind (a long outage): skip to the oldest frame still waiting.
        if let Some((&oldest, _)) = self.frames.iter().next()
            && self.next.is_some_and(|n| n + u64::from(self.rate) < oldest)
        {
            self.next = Some(oldest);
        }
    }

    /// A frame that never came: the last one repeated, fading, then silence.
    fn lost(&mut self, frame_len: usize) {
        self.stats.lost += 1;
        self.concealed += 1;
        if self.concealed <= CONCEAL_FRAMES {
            // Repeat the last frame, fading: a lost packet is a softer click, not a gap.
            let gain = 1.0 - self.concealed as f32 / (CONCEAL_FRAMES + 1) as f32;
            self.pending
                .extend(self.last_played.iter().map(|s| s * gain));
        } else {
            self.pending.extend(std::iter::repeat_n(0.0, frame_len));
        }
    }

    /// A frame of white noise at `level` −dBov (0 dBov: a full-scale square wave's power).
    fn noise(&mut self, level: u8, frame_len: usize) {
        // Uniform noise in ±a has an RMS of a/√3.
        let rms = 10f32.powf(-f32::from(level) / 20.0);
        // Loud levels (0–4 dBov) would go past full scale: clipped there.
        let amplitude = (rms * 3f32.sqrt()).min(1.0);
        for _ in 0..frame_len {
            let mut x = self.noise_state;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            self.noise_state = x;
            let unit = (x as f32 / u32::MAX as f32) * 2.0 - 1.0;
            self.pending.push(unit * amplitude);
        }
    }

    /// Whether playout has begun (the first frame's turn has come).
    pub fn is_playing(&self) -> bool {
        self.next.is_some()
    }

    /// What happened so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 8_000;
    const FRAME: usize = 160;

    fn frame(n: u32) -> Vec<f32> {
        vec![n as f32; FRAME]
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Pulls everything due by `now` in 5 ms steps from `from`; returns the samples.
    fn drain(jb: &mut JitterBuffer, from: u64, to: u64) -> Vec<f32> {
        let mut out = Vec::new();
        let mut buf = [0f32; 512];
        for t in (from..=to).step_by(5) {
            loop {
                let n = jb.pull(ms(t), &mut buf);
                out.extend_from_slice(&buf[..n]);
                if n < buf.len() {
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn comfort_noise_fills_the_peers_silence_at_its_level_and_is_no_loss() {
        let mut jb = JitterBuffer::new(RATE);
        for i in 0..5u32 {
            jb.push(i * 160, frame(1), ms(100 + 20 * u64::from(i)));
        }
        // Silence from frame 5 at −40 dBov; the peer sends nothing more for a second.
        jb.push_noise(5 * 160, 40, ms(200));
        for i in 55..60u32 {
            jb.push(i * 160, frame(2), ms(100 + 20 * u64::from(i)));
        }
        // The last frame plays at 140 + 59 × 20 ms.
        let played = drain(&mut jb, 0, 1_335);
        assert_eq!(played.len(), 60 * FRAME);
        let noise = &played[5 * FRAME..55 * FRAME];
        let rms = (noise.iter().map(|v| v * v).sum::<f32>() / noise.len() as f32).sqrt();
        assert!(
            (0.008..0.012).contains(&rms),
            "noise at {rms}, not −40 dBov"
        );
        assert!(noise.iter().all(|v| v.abs() < 0.02), "noise is no voice");
        assert!(
            played[55 * FRAME..].iter().all(|&v| v == 2.0),
            "voice after it"
        );
        assert_eq!(jb.stats().lost, 0, "the peer's silence is no loss");
    }

    #[test]
    fn a_talk_spurt_off_the_comfort_noises_grid_is_played_not_replaced_by_noise() {
        let mut jb = JitterBuffer::new(RATE);
        for i in 0..5u32 {
            jb.push(i * 160, frame(1), ms(100 + 20 * u64::from(i)));
        }
        jb.push_noise(5 * 160, 40, ms(200));
        // The next spurt starts half a frame off the grid.
        for i in 20..25u32 {
            jb.push(i * 160 + 80, frame(2), ms(100 + 20 * u64::from(i)));
        }
        // The spurt's last frame plays at 140 + (24 × 160 + 80) / 8 ms = 630 ms.
        let played = drain(&mut jb, 0, 645);
        let voiced = played.iter().filter(|&&v| v == 2.0).count();
        assert_eq!(voiced, 5 * FRAME, "the whole spurt");
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn frames_in_order_play_after_the_delay_on_the_clock() {
        let mut jb = JitterBuffer::new(RATE);
        for i in 0..10u32 {
            jb.push(i * 160, frame(i + 1), ms(100 + 20 * u64::from(i)));
        }
        // Nothing before the first frame's playout: arrival 100 ms + 40 ms delay.
        let early = drain(&mut jb, 0, 135);
        assert!(early.is_empty());
        let played = drain(&mut jb, 140, 320);
        assert_eq!(played.len(), 10 * FRAME);
        for (i, chunk) in played.chunks(FRAME).enumerate() {
            assert!(chunk.iter().all(|&s| s == (i + 1) as f32), "frame {i}");
        }
        assert_eq!(jb.stats().lost, 0);
        // The stream goes on when the peer stops sending: concealment fading to silence, on
        // the clock (the recording never stalls on a quiet leg).
        let after = drain(&mut jb, 325, 500);
        assert_eq!(after.len(), 9 * FRAME);
        assert!(after[3 * FRAME..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn reordered_frames_are_put_back_in_order() {
        let mut jb = JitterBuffer::new(RATE);
        let order = [0u32, 2, 1, 4, 3, 5];
        for (k, &i) in order.iter().enumerate() {
            jb.push(i * 160, frame(i + 1), ms(20 * k as u64));
        }
        let played = drain(&mut jb, 0, 140);
        let firsts: Vec<f32> = played.chunks(FRAME).map(|c| c[0]).collect();
        assert_eq!(firsts, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn a_lost_frame_is_concealed_and_the_stream_keeps_its_length() {
        let mut jb = JitterBuffer::new(RATE);
        for i in (0..8u32).filter(|&i| i != 3) {
            jb.push(i * 160, frame(10), ms(20 * u64::from(i)));
        }
        let played = drain(&mut jb, 0, 180);
        assert_eq!(played.len(), 8 * FRAME, "no gap, no shift");
        let concealed = &played[3 * FRAME..4 * FRAME];
        assert!(
            concealed.iter().all(|&s| s > 0.0 && s < 10.0),
            "faded repeat"
        );
        assert_eq!(jb.stats().lost, 1);
    }

    #[test]
    fn a_frame_after_its_turn_is_dropped_and_counted() {
        let mut jb = JitterBuffer::new(RATE);
        jb.push(0, frame(1), ms(0));
        jb.push(320, frame(3), ms(40));
        drain(&mut jb, 0, 200);
        jb.push(160, frame(2), ms(200));
        assert_eq!(jb.stats().late, 1);
        assert!(drain(&mut jb, 200, 400).iter().all(|&s| s == 0.0));
    }

    #[test]
    fn the_delay_grows_with_jitter_within_its_bounds() {
        let mut jb = JitterBuffer::new(RATE);
        for i in 0..200u32 {
            // ±30 ms of jitter around the 20 ms pace.
            let wobble = if i % 2 == 0 { 0 } else { 30 };
            jb.push(i * 160, frame(1), ms(20 * u64::from(i) + wobble));
            drain(&mut jb, 20 * u64::from(i), 20 * u64::from(i) + 15);
        }
        let delay = jb.stats().delay;
        assert!(delay > ms(60) && delay <= MAX_DELAY, "{delay:?}");
    }

    #[test]
    fn silence_the_peer_meant_plays_as_silence_not_as_losses() {
        let mut jb = JitterBuffer::new(RATE);
        jb.push(0, frame(5), ms(0));
        // The peer sends a 60 ms keypad event instead of voice, then voice again.
        jb.silence(160, 480, FRAME);
        jb.push(640, frame(6), ms(80));
        let played = drain(&mut jb, 0, 120);
        assert_eq!(played.len(), 5 * FRAME);
        assert!(played[FRAME..4 * FRAME].iter().all(|&s| s == 0.0));
        assert!(played[4 * FRAME..].iter().all(|&s| s == 6.0));
        assert_eq!((jb.stats().lost, jb.stats().received), (0, 2));
    }

    #[test]
    fn a_stream_whose_timestamps_jump_is_followed_not_waited_for() {
        let mut jb = JitterBuffer::new(RATE);
        for i in 0..5u32 {
            jb.push(i * 160, frame(1), ms(20 * u64::from(i)));
        }
        drain(&mut jb, 0, 120);
        // A new source (or a restarted one) 10 minutes of timestamps ahead.
        let jump = 8_000 * 600;
        for i in 0..5u32 {
            jb.push(jump + i * 160, frame(2), ms(200 + 20 * u64::from(i)));
        }
        let after = drain(&mut jb, 125, 320);
        assert!(
            after.contains(&2.0),
            "the new stream plays within the delay"
        );
        assert!(
            after.len() <= 200 * 8 + 160,
            "on the clock: {}",
            after.len()
        );
    }

    #[test]
    fn a_step_up_in_network_delay_is_followed_after_a_few_late_frames() {
        let mut jb = JitterBuffer::new(RATE);
        let mut out = Vec::new();
        for i in 0..100u32 {
            // From frame 20 on, every frame arrives 150 ms later than before.
            let extra = if i >= 20 { 150 } else { 0 };
            jb.push(i * 160, frame(i), ms(20 * u64::from(i) + extra));
            out.extend(drain(&mut jb, 20 * u64::from(i), 20 * u64::from(i) + 15));
        }
        let last = out
            .iter()
            .rev()
            .find(|&&s| s != 0.0)
            .copied()
            .unwrap_or(0.0);
        assert!(
            last > 80.0,
            "still playing the stream after the step: {last}"
        );
        assert!(jb.stats().late < 20, "{:?}", jb.stats());
    }

    #[test]
    fn in_band_tones_inside_a_keypad_event_never_play() {
        let mut jb = JitterBuffer::new(RATE);
        jb.push(0, frame(5), ms(0));
        // The tone's first frame arrives before the event packet, the next one after it.
        jb.push(160, frame(9), ms(20));
        jb.silence(160, 320, FRAME);
        jb.push(320, frame(9), ms(40));
        jb.push(480, frame(6), ms(60));
        let played = drain(&mut jb, 0, 100);
        assert_eq!(played.len(), 4 * FRAME);
        assert!(
            played[FRAME..3 * FRAME].iter().all(|&s| s == 0.0),
            "no tone"
        );
        assert!(played[3 * FRAME..].iter().all(|&s| s == 6.0));
    }

    #[test]
    fn timestamps_wrap_around() {
        let mut jb = JitterBuffer::new(RATE);
        let start = u32::MAX - 320 + 1;
        for i in 0..5u32 {
            jb.push(
                start.wrapping_add(i * 160),
                frame(i + 1),
                ms(20 * u64::from(i)),
            );
        }
        let played = drain(&mut jb, 0, 120);
        let firsts: Vec<f32> = played.chunks(FRAME).map(|c| c[0]).collect();
        assert_eq!(firsts, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
