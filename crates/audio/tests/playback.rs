//! The headset through cpal on a real (headless) PulseAudio: a tone played on the test
//! headset (the `callaudio` null sink) is heard on that sink's monitor at its pitch, soon
//! after it starts, and the playback's figures say what happened.
//!
//! Needs `CALLREC_PULSE_DIR` (set by `scripts/pulse-up`); without it the test says so and
//! passes, except under CI, where it fails.

use std::time::Duration;

use callrec_audio::{CaptureSource, Paced, Playback, Read, Source, Tone};

fn frequency(samples: &[f32], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| w[0] <= 0.0 && w[1] > 0.0)
        .count();
    crossings as f64 * f64::from(rate) / samples.len() as f64
}

#[test]
fn a_tone_played_on_the_headset_is_heard_at_its_pitch() {
    let Some(dir) = std::env::var_os("CALLREC_PULSE_DIR") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the playback test: source scripts/pulse-up first"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: no test PulseAudio (source scripts/pulse-up)");
        }
        return;
    };
    // ALSA reads the test devices from $HOME/.asoundrc: the test runs itself again with
    // that HOME (setting the environment of a running test is unsafe).
    if std::env::var_os("CALLREC_PLAYBACK_CHILD").is_none() {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "a_tone_played_on_the_headset_is_heard_at_its_pitch",
                "--exact",
                "--nocapture",
            ])
            .env("HOME", std::path::Path::new(&dir).join("home"))
            .env("CALLREC_PLAYBACK_CHILD", "1")
            .output()
            .expect("the test, run again");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }

    let mut monitor = CaptureSource::open(Some("callrec test call audio")).expect("monitor");
    let source = Paced::new(Tone::new(8_000, 700.0, 0.5, 10.0));
    let playback = Playback::open(Some("callrec test headset"), Box::new(source)).expect("headset");
    std::thread::sleep(Duration::from_secs(3));
    let health = playback.health();
    let playback_rate = playback.rate();
    drop(playback);
    let mut heard = Vec::new();
    let mut buf = vec![0f32; 4096];
    while let Ok(Read::Samples(n)) = monitor.read(&mut buf) {
        heard.extend_from_slice(&buf[..n]);
    }
    let rate = monitor.rate();
    let loud: Vec<f32> = heard
        .iter()
        .copied()
        .skip_while(|v| v.abs() < 0.1)
        .collect();
    assert!(
        loud.len() > rate as usize,
        "more than a second of the tone on the monitor: {} samples, {health:?}",
        loud.len()
    );
    // The pitch of each 50 ms of the first second, their median: a stretch the machine was
    // too busy to play (a dropout, counted in the health) does not hide a wrong rate.
    let window = rate as usize / 20;
    let mut pitches: Vec<f64> = loud[..rate as usize]
        .chunks_exact(window)
        .map(|w| frequency(w, rate))
        .collect();
    pitches.sort_by(f64::total_cmp);
    let pitch = pitches[pitches.len() / 2];
    assert!(
        (pitch - 700.0).abs() < 25.0,
        "heard {pitch} Hz ({pitches:?}), {health:?}"
    );
    // Everything was played, nothing dropped: no second of the call lost to the device.
    let device_rate = u64::from(playback_rate);
    assert!(health.played > device_rate * 5 / 2, "{health:?}");
    assert!(health.dropped < device_rate / 10, "{health:?}");
}
