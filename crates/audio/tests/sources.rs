//! WAV replay and resampling: lengths exact, timing exact, tones intact.

use callrec_audio::{AtRate, Read, Source, Tone, WavSource};
use rstest::rstest;

fn drain(source: &mut impl Source) -> Vec<f32> {
    let mut all = Vec::new();
    let mut buf = vec![0.0; 777];
    loop {
        match source.read(&mut buf).expect("read") {
            Read::Samples(n) => all.extend_from_slice(&buf[..n]),
            Read::End => return all,
            Read::Pending => panic!("offline sources never pend"),
        }
    }
}

/// Frequency estimate from zero crossings.
fn frequency(samples: &[f32], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    crossings as f64 * f64::from(rate) / samples.len() as f64
}

#[rstest]
#[case::downsample_48k(48_000, 16_000)]
#[case::downsample_44k1(44_100, 16_000)]
#[case::upsample_8k(8_000, 16_000)]
#[case::to_48k(16_000, 48_000)]
#[case::same_rate(16_000, 16_000)]
fn resampling_keeps_length_and_pitch(#[case] from: u32, #[case] to: u32) {
    let seconds = 2.5;
    let mut at = AtRate::new(Tone::new(from, 440.0, 0.5, seconds), to).expect("resampler");
    let out = drain(&mut at);
    assert_eq!(out.len() as f64, (seconds * f64::from(to)).ceil());
    let middle = &out[out.len() / 4..out.len() * 3 / 4];
    let f = frequency(middle, to);
    assert!((f - 440.0).abs() < 2.0, "{f} Hz");
    let peak = middle.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!((peak - 0.5).abs() < 0.02, "level kept: {peak}");
}

/// A source that is silent, then a tone from a given sample: to check where edges land.
struct Edge {
    rate: u32,
    at: usize,
    len: usize,
    pos: usize,
}

impl Source for Edge {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read(&mut self, out: &mut [f32]) -> callrec_audio::Result<Read> {
        if self.pos == self.len {
            return Ok(Read::End);
        }
        let n = out.len().min(self.len - self.pos);
        for (i, s) in out[..n].iter_mut().enumerate() {
            let k = self.pos + i;
            *s = if k >= self.at {
                (k as f32 * 0.7).sin() * 0.5
            } else {
                0.0
            };
        }
        self.pos += n;
        Ok(Read::Samples(n))
    }
}

#[rstest]
#[case(48_000)]
#[case(44_100)]
#[case(8_000)]
fn the_resampler_delay_is_compensated(#[case] from: u32) {
    // Sound starts at exactly 1.000 s; after resampling to 16 kHz it must start within 1 ms
    // of sample 16000.
    let edge = Edge {
        rate: from,
        at: from as usize,
        len: from as usize * 2,
        pos: 0,
    };
    let out = drain(&mut AtRate::new(edge, 16_000).expect("resampler"));
    let onset = out.iter().position(|s| s.abs() > 0.05).expect("sound");
    assert!((onset as i64 - 16_000).abs() <= 16, "onset at {onset}");
}

fn write_wav(
    path: &std::path::Path,
    spec: hound::WavSpec,
    frames: usize,
    f: impl Fn(usize, u16) -> f64,
) {
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..frames {
        for c in 0..spec.channels {
            let v = f(i, c);
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v as f32).expect("write"),
                (_, 8) => w.write_sample((v * 127.0) as i8).expect("write"),
                (_, 16) => w.write_sample((v * 32767.0) as i16).expect("write"),
                (_, 24) => w.write_sample((v * 8_388_607.0) as i32).expect("write"),
                _ => w.write_sample((v * 2_147_483_647.0) as i32).expect("write"),
            }
        }
    }
    w.finalize().expect("finalize");
}

#[rstest]
#[case::pcm8(hound::SampleFormat::Int, 8)]
#[case::pcm16(hound::SampleFormat::Int, 16)]
#[case::pcm24(hound::SampleFormat::Int, 24)]
#[case::pcm32(hound::SampleFormat::Int, 32)]
#[case::float32(hound::SampleFormat::Float, 32)]
fn wav_files_of_every_format_are_read_and_downmixed(
    #[case] sample_format: hound::SampleFormat,
    #[case] bits_per_sample: u16,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("in.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 22_050,
        bits_per_sample,
        sample_format,
    };
    // Left 0.5, right -0.25 → mono 0.125.
    write_wav(&path, spec, 5000, |_, c| if c == 0 { 0.5 } else { -0.25 });
    let mut src = WavSource::open(&path).expect("open");
    assert_eq!((src.rate(), src.channels()), (22_050, 2));
    let all = drain(&mut src);
    assert_eq!(all.len(), 5000);
    let tolerance = if bits_per_sample == 8 { 0.01 } else { 1e-4 };
    assert!(
        all.iter().all(|s| (s - 0.125).abs() < tolerance),
        "{:?}",
        &all[..4]
    );
}

#[test]
fn a_missing_or_broken_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = WavSource::open(&dir.path().join("nope.wav"))
        .err()
        .expect("error");
    assert!(err.to_string().contains("nope.wav"), "{err}");
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"this is not a wav file").expect("write");
    let err = WavSource::open(&junk).err().expect("error");
    assert!(err.to_string().contains("junk.wav"), "{err}");
}

#[rstest::rstest]
#[case(48_000, 8_000)]
#[case(44_100, 8_000)]
#[case(8_000, 48_000)]
fn the_quick_resampler_keeps_pitch_and_pace_with_little_delay(#[case] from: u32, #[case] to: u32) {
    let mut quick =
        callrec_audio::QuickRate::new(Tone::new(from, 440.0, 0.5, 2.0), to).expect("resampler");
    let out = drain(&mut quick);
    // Two seconds in, two seconds out (give or take its last partial chunk).
    let expected = 2 * to as usize;
    assert!(
        out.len() + to as usize / 50 >= expected && out.len() <= expected,
        "{} samples for {expected}",
        out.len()
    );
    let pitch = frequency(&out[to as usize / 10..], to);
    assert!((pitch - 440.0).abs() < 5.0, "{pitch} Hz");
    // The first 10 ms chunk is out as soon as it is in: the tone starts within 2 ms.
    let onset = out.iter().position(|v| v.abs() > 0.1).expect("sound");
    assert!(onset < to as usize / 500 + 2, "sound from sample {onset}");
}
