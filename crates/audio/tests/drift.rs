//! Two devices whose clocks differ by 200 ppm stay aligned over a simulated hour.

use std::time::Duration;

use callrec_audio::{Aligned, Clock, ManualClock, Read, Source};

const RATE: u32 = 16_000;

/// A live device on simulated time: silent but for one click, delivering samples as its own
/// (possibly fast) crystal produces them.
struct Device {
    clock: ManualClock,
    ppm: f64,
    produced: u64,
    click_at: u64,
}

impl Device {
    /// A device that clicks when it believes `click_seconds` have passed.
    fn new(clock: ManualClock, ppm: f64, click_seconds: u64) -> Self {
        Self {
            clock,
            ppm,
            produced: 0,
            click_at: click_seconds * u64::from(RATE),
        }
    }
}

impl Source for Device {
    fn rate(&self) -> u32 {
        RATE
    }
    fn read(&mut self, out: &mut [f32]) -> callrec_audio::Result<Read> {
        let due =
            (self.clock.elapsed().as_secs_f64() * f64::from(RATE) * (1.0 + self.ppm * 1e-6)) as u64;
        let n = out.len().min((due - self.produced) as usize);
        if n == 0 {
            return Ok(Read::Pending);
        }
        for (i, s) in out[..n].iter_mut().enumerate() {
            *s = if self.produced + i as u64 == self.click_at {
                1.0
            } else {
                0.0
            };
        }
        self.produced += n as u64;
        Ok(Read::Samples(n))
    }
}

/// Index of the click in what `source` delivers over `seconds` of simulated time.
fn run(seconds: u64, mut sources: Vec<Box<dyn Source>>, clock: &ManualClock) -> Vec<Option<u64>> {
    let mut clicks = vec![None; sources.len()];
    let mut counts = vec![0u64; sources.len()];
    let mut buf = vec![0.0f32; 8192];
    for _ in 0..seconds * 50 {
        clock.advance(Duration::from_millis(20));
        for (i, s) in sources.iter_mut().enumerate() {
            while let Read::Samples(n) = s.read(&mut buf).expect("read") {
                if let Some(k) = buf[..n].iter().position(|&v| v == 1.0) {
                    clicks[i] = Some(counts[i] + k as u64);
                }
                counts[i] += n as u64;
            }
        }
    }
    clicks
}

#[test]
fn sides_stay_within_20_ms_after_an_hour_at_200_ppm() {
    // Both devices click at the same real instant: one hour minus a minute in.
    let real = 3_540.0;
    let clock = ManualClock::default();
    let exact = Device::new(clock.clone(), 0.0, 3_540);
    let fast = Device::new(clock.clone(), 200.0, 0);
    let fast = Device {
        click_at: (real * f64::from(RATE) * 1.0002) as u64,
        ..fast
    };
    let clicks = run(
        3_600,
        vec![
            Box::new(Aligned::new(exact, clock.clone())),
            Box::new(Aligned::new(fast, clock.clone())),
        ],
        &clock,
    );
    let (a, b) = (clicks[0].expect("click a"), clicks[1].expect("click b"));
    let apart_ms = (a as f64 - b as f64).abs() * 1000.0 / f64::from(RATE);
    assert!(apart_ms <= 20.0, "sides {apart_ms} ms apart after an hour");
}

#[test]
fn without_alignment_the_same_devices_drift_apart() {
    // The control: uncorrected, 200 ppm is 0.7 s after an hour.
    let clock = ManualClock::default();
    let exact = Device::new(clock.clone(), 0.0, 3_540);
    let fast = Device {
        click_at: (3_540.0 * f64::from(RATE) * 1.0002) as u64,
        ..Device::new(clock.clone(), 200.0, 0)
    };
    let clicks = run(3_600, vec![Box::new(exact), Box::new(fast)], &clock);
    let (a, b) = (clicks[0].expect("click a"), clicks[1].expect("click b"));
    let apart_ms = (b as f64 - a as f64) * 1000.0 / f64::from(RATE);
    assert!(apart_ms > 700.0, "{apart_ms}");
}

#[test]
fn an_exact_device_passes_untouched() {
    let clock = ManualClock::default();
    let mut aligned = Aligned::new(Device::new(clock.clone(), 0.0, 10), clock.clone());
    let mut buf = vec![0.0f32; 8192];
    let mut total = 0;
    for _ in 0..60 * 50 {
        clock.advance(Duration::from_millis(20));
        while let Read::Samples(n) = aligned.read(&mut buf).expect("read") {
            total += n;
        }
    }
    assert_eq!(total, 60 * RATE as usize);
    assert_eq!(aligned.slips(), 0);
}
