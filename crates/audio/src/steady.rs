//! A live input that keeps time when its device does not.
//!
//! A headset unplugged mid-call, a Bluetooth link that drops, a sound server that restarts:
//! the device stops delivering, and a recording that waits for it stalls both sides (and
//! never reaches the hang-up). [`Steady`] keeps its output on the reference clock instead:
//! when the device has delivered nothing for [`STALL`] (or its stream failed), it releases
//! it, delivers exact silence for the time that passes, and opens the device again every
//! [`RETRY`]; a reopened stream's audio rejoins on the clock.
//! Its [`InputHealth`] says what happened, so the window can tell the agent and the
//! recording can say where its gaps are.

use std::time::Duration;

use crate::drift::Clock;
use crate::error::Result;
use crate::source::{Read, Source};

/// How long a running device may deliver nothing before it counts as lost. Devices deliver
/// every few to 130 ms (PulseAudio's ALSA plugin: 128 ms periods).
pub const STALL: Duration = Duration::from_millis(1_000);
/// How long a device just opened may take to deliver its first samples (PulseAudio's ALSA
/// plugin takes about 2 s to fill its first buffer).
pub const STARTUP: Duration = Duration::from_secs(5);
/// How often a lost device is opened again.
pub const RETRY: Duration = Duration::from_secs(1);

/// What happened to a live input so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputHealth {
    /// The device is not delivering now: silence stands in for it.
    pub lost: bool,
    /// Times it was lost.
    pub losses: u32,
    /// Times it was opened again after a loss.
    pub reconnects: u32,
    /// Why it was last lost, or why reopening failed.
    pub error: Option<String>,
    /// The stretches of silence that stood in for it, in samples of this source's output
    /// (from, to); the last one is open (`to` = where the output is) while it is lost.
    pub gaps: Vec<(u64, u64)>,
}

/// Opens (or reopens) the device chain behind a [`Steady`] source.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn Source>> + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Opened at the start; its first samples are the call's first (waited for).
    Starting,
    /// Delivering.
    Running,
    /// Gone: silence on the clock, reopened every [`RETRY`].
    Lost,
    /// Reopened after a loss, its first samples not here yet: silence on the clock.
    Reconnecting,
    /// Back after a loss, its first buffer (audio from before now, when silence was already
    /// written) being read: kept only up to the clock.
    Rejoining,
}

/// A live source that never stalls: see the module's documentation.
pub struct Steady<C: Clock> {
    open: Opener,
    inner: Option<Box<dyn Source>>,
    phase: Phase,
    rate: u32,
    clock: C,
    /// Samples delivered since the start.
    emitted: u64,
    /// When the device last delivered (or was opened).
    last_data: Duration,
    /// When to try reopening a lost device.
    next_retry: Duration,
    health: InputHealth,
}

impl<C: Clock> Steady<C> {
    /// Opens the device through `open` (whose sources must deliver at `rate`); an error here
    /// is the caller's (a device that cannot be opened at the start of a call is refused).
    pub fn new(mut open: Opener, rate: u32, clock: C) -> Result<Self> {
        let inner = open()?;
        let now = clock.elapsed();
        Ok(Self {
            open,
            inner: Some(inner),
            phase: Phase::Starting,
            rate,
            clock,
            emitted: 0,
            last_data: now,
            next_retry: now,
            health: InputHealth::default(),
        })
    }

    fn due(&self, now: Duration) -> u64 {
        (now.as_secs_f64() * f64::from(self.rate)) as u64
    }

    fn lose(&mut self, why: String, now: Duration) {
        tracing::warn!(error = %why, "an audio input was lost; recording silence in its place until it is back");
        // Dropping the chain releases the device; a driver whose server died can block in
        // that (cpal joins its stream thread), so it is dropped off the writer's thread.
        if let Some(inner) = self.inner.take() {
            let _ = std::thread::Builder::new()
                .name("callrec-release-device".into())
                .spawn(move || drop(inner));
        }
        if self.phase != Phase::Reconnecting {
            // The silence starts where the device's last sample ended.
            self.health.losses += 1;
            self.health.gaps.push((self.emitted, self.emitted));
        }
        self.phase = Phase::Lost;
        self.health.lost = true;
        self.health.error = Some(why);
        self.next_retry = now + RETRY;
    }

    /// Silence from where the output is up to the clock.
    fn fill(&mut self, out: &mut [f32], now: Duration) -> Read {
        let n = usize::try_from(self.due(now).saturating_sub(self.emitted))
            .unwrap_or(usize::MAX)
            .min(out.len());
        if n == 0 {
            return Read::Pending;
        }
        out[..n].fill(0.0);
        self.emitted += n as u64;
        if let Some(gap) = self.health.gaps.last_mut() {
            gap.1 = self.emitted;
        }
        Read::Samples(n)
    }

    fn reopen(&mut self, now: Duration) {
        match (self.open)() {
            Ok(source) => {
                self.inner = Some(source);
                self.phase = Phase::Reconnecting;
                self.last_data = now;
            }
            Err(e) => {
                self.health.error = Some(e.to_string());
                self.next_retry = now + RETRY;
            }
        }
    }
}

impl<C: Clock> Source for Steady<C> {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        let now = self.clock.elapsed();
        if self.phase == Phase::Lost && now >= self.next_retry {
            self.reopen(now);
        }
        let Some(inner) = self.inner.as_mut() else {
            return Ok(self.fill(out, now));
        };
        let result = inner.read(out);
        let waited = now.saturating_sub(self.last_data);
        match (result, self.phase) {
            (Ok(Read::Samples(n)), Phase::Reconnecting | Phase::Rejoining) => {
                if self.phase == Phase::Reconnecting {
                    tracing::info!("an audio input is back");
                    self.phase = Phase::Rejoining;
                    self.health.lost = false;
                    self.health.reconnects += 1;
                }
                self.last_data = now;
                // Keep the newest samples that bring the output up to the clock.
                let keep = usize::try_from(self.due(now).saturating_sub(self.emitted))
                    .unwrap_or(usize::MAX)
                    .min(n);
                out.copy_within(n - keep..n, 0);
                self.emitted += keep as u64;
                Ok(if keep == 0 {
                    Read::Pending
                } else {
                    Read::Samples(keep)
                })
            }
            (Ok(Read::Samples(n)), _) => {
                self.phase = Phase::Running;
                self.emitted += n as u64;
                self.last_data = now;
                Ok(Read::Samples(n))
            }
            (Ok(Read::Pending), Phase::Rejoining) => {
                // The first buffer is read: from now on every sample is on time.
                self.phase = Phase::Running;
                Ok(Read::Pending)
            }
            (Ok(Read::Pending), Phase::Starting) if waited < STARTUP => Ok(Read::Pending),
            (Ok(Read::Pending), Phase::Running) if waited < STALL => Ok(Read::Pending),
            (Ok(Read::Pending), Phase::Reconnecting) if waited < STARTUP => Ok(self.fill(out, now)),
            (Ok(Read::Pending), _) => {
                self.lose(
                    format!("the device delivered nothing for {} ms", waited.as_millis()),
                    now,
                );
                Ok(self.fill(out, now))
            }
            (Ok(Read::End), _) => {
                self.lose("the device stream ended".into(), now);
                Ok(self.fill(out, now))
            }
            (Err(e), _) => {
                self.lose(e.to_string(), now);
                Ok(self.fill(out, now))
            }
        }
    }

    fn health(&self) -> Option<InputHealth> {
        Some(self.health.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    use super::*;
    use crate::drift::ManualClock;

    const RATE: u32 = 1_000;

    /// A device that delivers the clock's samples (ones) while `up`, nothing otherwise.
    struct Device {
        clock: ManualClock,
        up: Arc<AtomicBool>,
        delivered: u64,
        start: u64,
        /// Nothing for this long after opening, then the backlog (PulseAudio's first buffer).
        latency: u64,
    }

    impl Source for Device {
        fn rate(&self) -> u32 {
            RATE
        }
        fn read(&mut self, out: &mut [f32]) -> Result<Read> {
            if !self.up.load(Ordering::Relaxed) {
                return Ok(Read::Pending);
            }
            let due = self.clock.elapsed().as_millis() as u64 - self.start;
            if due < self.latency {
                return Ok(Read::Pending);
            }
            let n = usize::try_from(due - self.delivered)
                .unwrap_or(0)
                .min(out.len());
            if n == 0 {
                return Ok(Read::Pending);
            }
            out[..n].fill(1.0);
            self.delivered += n as u64;
            Ok(Read::Samples(n))
        }
    }

    fn steady(
        clock: &ManualClock,
        up: &Arc<AtomicBool>,
        opens: &Arc<AtomicU32>,
    ) -> Steady<ManualClock> {
        slow_steady(clock, up, opens, 0)
    }

    fn slow_steady(
        clock: &ManualClock,
        up: &Arc<AtomicBool>,
        opens: &Arc<AtomicU32>,
        latency: u64,
    ) -> Steady<ManualClock> {
        let (c, u, o) = (clock.clone(), Arc::clone(up), Arc::clone(opens));
        let open: Opener = Box::new(move || {
            if !u.load(Ordering::Relaxed) {
                return Err(crate::AudioError::Device {
                    device: "headset".into(),
                    message: "not found".into(),
                });
            }
            o.fetch_add(1, Ordering::Relaxed);
            Ok(Box::new(Device {
                start: c.elapsed().as_millis() as u64,
                clock: c.clone(),
                up: Arc::clone(&u),
                delivered: 0,
                latency,
            }) as Box<dyn Source>)
        });
        Steady::new(open, RATE, clock.clone()).expect("opens")
    }

    /// Advances the clock in 10 ms steps for `ms`, draining the source; returns its output.
    fn run(s: &mut Steady<ManualClock>, clock: &ManualClock, ms: u64) -> Vec<f32> {
        let mut got = Vec::new();
        let mut buf = [0f32; 256];
        for _ in 0..ms / 10 {
            clock.advance(Duration::from_millis(10));
            while let Read::Samples(n) = s.read(&mut buf).expect("read") {
                got.extend_from_slice(&buf[..n]);
            }
        }
        got
    }

    #[test]
    fn a_lost_device_becomes_exact_silence_on_time_then_comes_back() {
        let clock = ManualClock::default();
        let up = Arc::new(AtomicBool::new(true));
        let opens = Arc::new(AtomicU32::new(0));
        let mut s = steady(&clock, &up, &opens);

        let before = run(&mut s, &clock, 1_000);
        assert_eq!(before.len(), 1_000);
        assert!(before.iter().all(|&v| v == 1.0));
        assert_eq!(s.health(), Some(InputHealth::default()));

        // Unplugged for 3 s: after the stall time the output keeps pace with the clock,
        // in silence, from the moment the device stopped.
        up.store(false, Ordering::Relaxed);
        let gap = run(&mut s, &clock, 3_000);
        let health = s.health().expect("health");
        assert!(health.lost && health.losses == 1, "{health:?}");
        assert!(health.error.is_some());
        assert_eq!(
            health.gaps,
            vec![(1_000, before.len() as u64 + gap.len() as u64)]
        );
        assert!(gap.iter().all(|&v| v == 0.0));
        assert!((2_990..=3_000).contains(&gap.len()), "{}", gap.len());

        // Plugged back in: reopened within the retry time, its samples follow.
        up.store(true, Ordering::Relaxed);
        let after = run(&mut s, &clock, 2_000);
        let health = s.health().expect("health");
        assert!(!health.lost && health.reconnects == 1, "{health:?}");
        assert_eq!(opens.load(Ordering::Relaxed), 2);
        let total = before.len() + gap.len() + after.len();
        assert!((5_980..=6_000).contains(&total), "on the clock: {total}");
        let first_sound = after.iter().position(|&v| v == 1.0).expect("sound again");
        assert!(first_sound <= 1_000, "back within a retry: {first_sound}");
        let silence_end = (before.len() + gap.len() + first_sound) as u64;
        assert_eq!(
            health.gaps,
            vec![(1_000, silence_end)],
            "the gap is exactly the silence"
        );
    }

    #[test]
    fn a_slow_starting_device_is_waited_for_at_the_start_and_trimmed_to_the_clock_after_a_loss() {
        let clock = ManualClock::default();
        let up = Arc::new(AtomicBool::new(true));
        let opens = Arc::new(AtomicU32::new(0));
        let mut s = slow_steady(&clock, &up, &opens, 2_000);
        // At the start: 2 s of nothing, then the backlog; not a loss.
        let start = run(&mut s, &clock, 3_000);
        assert_eq!(start.len(), 3_000);
        assert!(
            start.iter().all(|&v| v == 1.0),
            "real audio from the first sample"
        );
        assert_eq!(s.health().expect("health").losses, 0);

        up.store(false, Ordering::Relaxed);
        let gap = run(&mut s, &clock, 2_000);
        up.store(true, Ordering::Relaxed);
        // Reopened at once, but its first buffer comes 2 s later: silence meanwhile, and
        // the backlog is not appended after it (the side would run 2 s late).
        let after = run(&mut s, &clock, 5_000);
        let total = start.len() + gap.len() + after.len();
        let on_clock = clock.elapsed().as_millis() as usize;
        assert!(total.abs_diff(on_clock) <= 20, "{total} vs {on_clock}");
        assert!(after.ends_with(&[1.0; 100]), "sound again");
        let health = s.health().expect("health");
        assert_eq!(
            (health.losses, health.reconnects, health.lost),
            (1, 1, false)
        );
    }

    #[test]
    fn a_short_hiccup_is_waited_out_not_filled() {
        let clock = ManualClock::default();
        let up = Arc::new(AtomicBool::new(true));
        let opens = Arc::new(AtomicU32::new(0));
        let mut s = steady(&clock, &up, &opens);
        run(&mut s, &clock, 200);
        up.store(false, Ordering::Relaxed);
        assert!(run(&mut s, &clock, 300).is_empty(), "nothing made up");
        up.store(true, Ordering::Relaxed);
        let resumed = run(&mut s, &clock, 100);
        assert_eq!(resumed.len(), 400, "the device's own samples catch up");
        assert_eq!(s.health().expect("health").losses, 0);
    }
}
