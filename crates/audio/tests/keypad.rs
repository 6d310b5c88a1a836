//! Keypad tones masked in real material. sox makes the DTMF, alone and over espeak-ng speech;
//! multimon-ng, a decoder of its own, must find every digit before masking and none after.
//! Minutes of espeak-ng speech and of sox music must keep all but 0.1 % of their samples.
//!
//! sox, espeak-ng and multimon-ng are required (scripts/setup installs them): a missing one
//! fails the test, naming it.

// The measured rates are what these tests are for; they are printed for the record.
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::process::Command;

use callrec_audio::{KeypadMasked, Read, Source, WavSource, mask_buffer};
use rstest::rstest;

const KEYS: &str = "123A456B789C*0#D";
const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Fails, naming the tool, unless `name` is on the PATH.
fn require(name: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| dir.join(name).is_file());
    assert!(
        found,
        "{name} is not installed, and this test needs it (scripts/setup installs it: apt-get install {name})"
    );
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut source = WavSource::open(path).expect("open WAV");
    let rate = source.rate();
    (drain(&mut source), rate)
}

fn write_wav(path: &Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create WAV");
    for &s in samples {
        w.write_sample(s).expect("write WAV");
    }
    w.finalize().expect("finish WAV");
}

fn drain(source: &mut impl Source) -> Vec<f32> {
    let mut all = Vec::new();
    let mut buf = vec![0.0; 1000];
    loop {
        match source.read(&mut buf).expect("read") {
            Read::Samples(n) => all.extend_from_slice(&buf[..n]),
            Read::End => return all,
            Read::Pending => panic!("files never pend"),
        }
    }
}

/// A float WAV of `args` made by sox from nothing, read back.
fn sox_synth(dir: &Path, name: &str, rate: u32, args: &[String]) -> Vec<f32> {
    let path = dir.join(name);
    run(Command::new("sox")
        .args([
            "-n",
            "-r",
            &rate.to_string(),
            "-e",
            "floating-point",
            "-b",
            "32",
        ])
        .arg(&path)
        .args(args));
    read_wav(&path).0
}

/// One key from sox: both tones at `level` dBFS each, for `ms`.
fn sox_key(dir: &Path, rate: u32, key: usize, level: f64, ms: u32) -> Vec<f32> {
    let a = 10f64.powf(level / 20.0);
    let args = [
        "synth".to_string(),
        format!("{}", f64::from(ms) / 1000.0),
        "sine".into(),
        LOW[key / 4].to_string(),
        "sine".into(),
        HIGH[key % 4].to_string(),
        "remix".into(),
        format!("1v{a},2v{a}"),
    ];
    sox_synth(dir, "key.wav", rate, &args)
}

/// What multimon-ng decodes in `samples`: one character per digit.
fn multimon(dir: &Path, samples: &[f32], rate: u32) -> String {
    let wav = dir.join("decode.wav");
    let raw = dir.join("decode.raw");
    write_wav(&wav, samples, rate);
    run(Command::new("sox")
        .arg(&wav)
        .args([
            "-t", "raw", "-r", "22050", "-e", "signed", "-b", "16", "-c", "1",
        ])
        .arg(&raw));
    let out = run(Command::new("multimon-ng")
        .args(["-q", "-t", "raw", "-a", "DTMF"])
        .arg(&raw));
    out.lines()
        .filter_map(|l| l.strip_prefix("DTMF: "))
        .collect()
}

/// A deterministic pseudo-random sequence (no dependency for a test's jitter).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Texts and voices for the speech corpus: over two minutes at espeak-ng's pace.
const SPEECH: &[(&str, &str)] = &[
    (
        "en",
        "Thank you for calling. Before we start, I need to confirm a few details about your account. \
         Could you tell me the first line of your address and the date of your last payment? \
         Our records show that the balance was settled in March, but a second charge appeared \
         in April, which is why you were sent a reminder. I can see the problem now, and I will \
         refund the duplicate charge today. It should reach your card within five working days.",
    ),
    (
        "en+f3",
        "Hello, I'm calling about the parcel that was supposed to arrive on Tuesday. The tracking \
         page says it was delivered, but nobody was home and there is nothing at the door. \
         My neighbour says a van stopped outside around noon. Could you check with the driver \
         and let me know what happened? I would rather have it redelivered than refunded, \
         because it was a birthday present and the shop has sold out since.",
    ),
    (
        "en-us+m3",
        "Let me read the number back to you: four seven two, nine nine one, zero eight three. \
         Is that right? Wonderful. The appointment is booked for Thursday at half past two, \
         and you will receive a text message the day before. If anything changes, just call \
         this line again and quote your reference. Is there anything else I can help with?",
    ),
    (
        "fr",
        "Bonjour, je vous appelle au sujet de ma facture du mois dernier. Le montant est bien \
         plus élevé que d'habitude, et je ne comprends pas pourquoi. J'ai vérifié ma \
         consommation et elle n'a pas changé. Pourriez-vous m'expliquer le détail des frais, \
         et me dire si une erreur a pu se glisser dans le calcul? Je vous remercie de votre aide.",
    ),
    (
        "de",
        "Guten Tag, ich möchte meinen Vertrag kündigen, weil ich im nächsten Monat umziehe. \
         Die neue Wohnung hat bereits einen Anschluss, und ich brauche den alten nicht mehr. \
         Können Sie mir sagen, welche Fristen gelten und ob ich das Gerät zurückschicken muss? \
         Vielen Dank, und einen schönen Tag noch.",
    ),
    (
        "es",
        "Buenas tardes, llamo porque mi tarjeta fue rechazada esta mañana en el supermercado. \
         Tengo saldo suficiente y no he recibido ningún aviso del banco. ¿Podrían comprobar si \
         hay algún bloqueo en la cuenta? Necesito resolverlo hoy, porque mañana salgo de viaje.",
    ),
    (
        "en+f5",
        "The weather service has issued a warning for the coast: strong winds from the west, \
         heavy rain overnight, and high tides tomorrow morning. Drivers are asked to avoid the \
         bridge until the wind drops, and ferries will not sail before noon. Schools remain \
         open, but the afternoon football match has been moved to next Saturday.",
    ),
];

/// The speech corpus at `rate`, one voice after another.
fn speech(dir: &Path, rate: u32) -> Vec<f32> {
    let mut all = Vec::new();
    for (i, (voice, text)) in SPEECH.iter().enumerate() {
        let spoken = dir.join(format!("speech{i}.wav"));
        let resampled = dir.join(format!("speech{i}-{rate}.wav"));
        run(Command::new("espeak-ng")
            .args(["-v", voice, "-w"])
            .arg(&spoken)
            .arg(text));
        run(Command::new("sox")
            .arg(&spoken)
            .args(["-r", &rate.to_string(), "-e", "floating-point", "-b", "32"])
            .arg(&resampled));
        all.extend(read_wav(&resampled).0);
    }
    all
}

/// Semitones from A4 to a frequency.
fn note(semitones: i32) -> f64 {
    440.0 * 2f64.powf(f64::from(semitones) / 12.0)
}

/// Music-like material at `rate`: a melody of sine and triangle notes (A4 to A6, across the
/// DTMF bands) over sustained three- and four-note chords, on a bed of pink noise.
fn music(dir: &Path, rate: u32, seconds: f64) -> Vec<f32> {
    let mut lcg = Lcg(7);
    let len = (seconds * f64::from(rate)) as usize;
    let mut out = vec![0.0f32; len];
    let add = |out: &mut Vec<f32>, at: usize, part: &[f32]| {
        for (o, s) in out[at..].iter_mut().zip(part) {
            *o += s;
        }
    };
    // A major scale's steps, so the melody and chords sound like music and not a sweep.
    let scale = [0, 2, 4, 5, 7, 9, 11];
    let mut at = 0;
    let mut step = 7;
    while at < len {
        let ms = [125, 250, 250, 375, 500][(lcg.next() * 5.0) as usize];
        step = (step + (lcg.next() * 5.0) as i32 - 2).clamp(0, 14);
        let semitones = 12 * (step / 7) + scale[(step % 7) as usize];
        let wave = if lcg.next() < 0.5 { "sine" } else { "triangle" };
        let args = [
            "synth".to_string(),
            format!("{}", f64::from(ms) / 1000.0),
            wave.into(),
            format!("{:.2}", note(semitones)),
            "vol".into(),
            "0.3".into(),
            "fade".into(),
            "0.01".into(),
            "0".into(),
            "0.03".into(),
        ];
        add(&mut out, at, &sox_synth(dir, "note.wav", rate, &args));
        at += ms as usize * rate as usize / 1000;
    }
    let mut at = 0;
    while at < len {
        let root = -12 + (lcg.next() * 24.0) as i32;
        let notes = if lcg.next() < 0.5 {
            vec![0, 4, 7]
        } else {
            vec![0, 3, 7, 10]
        };
        let wave = if lcg.next() < 0.5 { "sine" } else { "triangle" };
        let mut args = vec!["synth".to_string(), "2".into()];
        for n in &notes {
            args.extend([wave.to_string(), format!("{:.2}", note(root + n))]);
        }
        let gain = 0.5 / notes.len() as f64;
        args.push("remix".into());
        args.push(
            (1..=notes.len())
                .map(|c| format!("{c}v{gain}"))
                .collect::<Vec<_>>()
                .join(","),
        );
        args.extend(["fade".into(), "0.05".into(), "0".into(), "0.1".into()]);
        add(&mut out, at, &sox_synth(dir, "chord.wav", rate, &args));
        at += 2 * rate as usize;
    }
    let noise = sox_synth(
        dir,
        "noise.wav",
        rate,
        &[
            "synth".into(),
            format!("{seconds}"),
            "pinknoise".into(),
            "vol".into(),
            "0.02".into(),
        ],
    );
    add(&mut out, 0, &noise);
    out
}

fn masked_share(stretches: &[(u64, u64)], len: usize) -> f64 {
    let masked: u64 = stretches.iter().map(|(a, b)| b - a).sum();
    masked as f64 / len as f64
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Fails, naming the first missing one, unless all of `tools` are installed.
fn tools(tools: &[&str]) {
    for tool in tools {
        require(tool);
    }
}

/// One key tone in a test sequence.
struct Key {
    at: Range<usize>,
    level: f64,
    ms: u32,
}

/// Every key at every level and length, with gaps of 100 to 250 ms: the samples, the keys as
/// multimon-ng prints them, and where each is.
fn keypad_sequence(dir: &Path, rate: u32) -> (Vec<f32>, String, Vec<Key>) {
    let mut lcg = Lcg(rate.into());
    let mut samples = Vec::new();
    let mut names = String::new();
    let mut keys = Vec::new();
    for level in [-10.0, -20.0, -30.0] {
        for ms in [40, 70, 150] {
            for (key, name) in KEYS.chars().enumerate() {
                let gap = (0.1 + 0.15 * lcg.next()) * f64::from(rate);
                samples.resize(samples.len() + gap as usize, 0.0);
                let tone = sox_key(dir, rate, key, level, ms);
                keys.push(Key {
                    at: samples.len()..samples.len() + tone.len(),
                    level,
                    ms,
                });
                samples.extend(tone);
                names.push(name);
            }
        }
    }
    samples.resize(samples.len() + rate as usize / 4, 0.0);
    (samples, names, keys)
}

/// `samples` through a [`KeypadMasked`] reading them from a WAV file, as a recording would.
fn mask_file(dir: &Path, samples: &[f32], rate: u32) -> (Vec<f32>, Vec<(u64, u64)>) {
    let path = dir.join("input.wav");
    write_wav(&path, samples, rate);
    let mut masked = KeypadMasked::new(WavSource::open(&path).expect("open")).expect("masker");
    let stretches = masked.stretches();
    let out = drain(&mut masked);
    assert!(stretches.is_complete());
    (out, stretches.all())
}

/// Fails unless every sample of every key is 0.0 in `out`; prints how many keys of each
/// level and length were, for the record.
fn assert_keys_silenced(out: &[f32], keys: &[Key], what: &str) {
    let mut table = BTreeMap::new();
    let mut left = Vec::new();
    for key in keys {
        let heard = out[key.at.clone()].iter().filter(|s| **s != 0.0).count();
        let row = table.entry((key.level as i32, key.ms)).or_insert((0, 0));
        row.1 += 1;
        if heard == 0 {
            row.0 += 1;
        } else {
            left.push((key.level, key.ms, key.at.start, heard));
        }
    }
    let table: Vec<String> = table
        .iter()
        .map(|((level, ms), (silenced, all))| format!("{level} dBFS {ms} ms: {silenced}/{all}"))
        .collect();
    eprintln!("{what}: keys silenced whole: {}", table.join(", "));
    assert!(
        left.is_empty(),
        "{what}: keys not silenced whole (level, ms, at, samples left): {left:?}"
    );
}

/// The stretch around each key (60 ms either side), the stretches apart by silence: what a
/// decoder finds here was a key, not something said between keys.
fn around_keys(samples: &[f32], keys: &[Key], rate: u32) -> Vec<f32> {
    let margin = rate as usize * 6 / 100;
    let mut all = Vec::new();
    for key in keys {
        let from = key.at.start.saturating_sub(margin);
        let to = (key.at.end + margin).min(samples.len());
        all.extend_from_slice(&samples[from..to]);
        all.resize(all.len() + rate as usize / 4, 0.0);
    }
    all
}

#[rstest]
#[case(8_000)]
#[case(16_000)]
fn every_key_from_sox_is_silenced_and_multimon_finds_none(#[case] rate: u32) {
    tools(&["sox", "multimon-ng"]);
    let dir = tempdir();
    let (input, names, keys) = keypad_sequence(dir.path(), rate);
    assert_eq!(
        multimon(dir.path(), &input, rate),
        names,
        "multimon-ng decodes the input"
    );
    let (out, stretches) = mask_file(dir.path(), &input, rate);
    assert_eq!(out.len(), input.len());
    assert_eq!(stretches.len(), keys.len(), "one stretch a key");
    assert_keys_silenced(&out, &keys, &format!("{rate} Hz, keys alone"));
    assert_eq!(
        multimon(dir.path(), &out, rate),
        "",
        "multimon-ng decodes the masked output"
    );
}

/// Speech 20 dB under the keys (its RMS under each key's level). Nearer, a loud syllable over
/// a quiet short key can hide it from the detector's checks: at 15 dB one key in 144 leaks a
/// little at 8 kHz, at 10 dB about one in twenty, while multimon-ng still hears nearly all.
#[rstest]
#[case(8_000)]
#[case(16_000)]
fn keys_over_speech_are_silenced_and_multimon_finds_none(#[case] rate: u32) {
    const UNDER_DB: f64 = 20.0;
    tools(&["sox", "espeak-ng", "multimon-ng"]);
    let dir = tempdir();
    let (mut input, names, keys) = keypad_sequence(dir.path(), rate);
    let speech = speech(dir.path(), rate);
    let rms =
        (speech.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / speech.len() as f64).sqrt();
    let mut from = 0;
    for (i, key) in keys.iter().enumerate() {
        let to = if i + 1 == keys.len() {
            input.len()
        } else {
            key.at.end
        };
        let gain = 10f64.powf((key.level - UNDER_DB) / 20.0) / rms;
        for (x, s) in input[from..to].iter_mut().zip(&speech[from..]) {
            *x += (gain * f64::from(*s)) as f32;
        }
        from = to;
    }
    let heard = multimon(dir.path(), &around_keys(&input, &keys, rate), rate);
    assert_eq!(heard, names, "multimon-ng decodes the keys over speech");
    let (out, _) = mask_file(dir.path(), &input, rate);
    assert_keys_silenced(&out, &keys, &format!("{rate} Hz, keys over speech"));
    let left = multimon(dir.path(), &around_keys(&out, &keys, rate), rate);
    assert_eq!(left, "", "multimon-ng decodes the masked keys");
}

#[rstest]
#[case(8_000)]
#[case(16_000)]
fn speech_keeps_its_samples(#[case] rate: u32) {
    tools(&["sox", "espeak-ng"]);
    let dir = tempdir();
    let mut speech = speech(dir.path(), rate);
    let len = speech.len();
    assert!(len >= 120 * rate as usize, "two minutes of speech at least");
    let stretches = mask_buffer(&mut speech, rate).expect("mask");
    let share = masked_share(&stretches, len);
    eprintln!(
        "speech at {rate} Hz: {:.1} s, {:.4} % masked in {} stretches",
        len as f64 / f64::from(rate),
        share * 100.0,
        stretches.len(),
    );
    assert!(
        share < 0.001,
        "{:.4} % of speech masked: {stretches:?}",
        share * 100.0
    );
}

#[rstest]
#[case(8_000)]
#[case(16_000)]
fn music_keeps_its_samples(#[case] rate: u32) {
    tools(&["sox", "multimon-ng"]);
    let dir = tempdir();
    let mut music = music(dir.path(), rate, 150.0);
    let len = music.len();
    // Sine notes F5 and F#6 are DTMF's 697 and 1477 Hz within 0.3 %: a decoder finds keys
    // in this music, which the masker must leave alone.
    let decoded = multimon(dir.path(), &music, rate);
    let stretches = mask_buffer(&mut music, rate).expect("mask");
    let share = masked_share(&stretches, len);
    eprintln!(
        "music at {rate} Hz: {:.1} s, {:.4} % masked in {} stretches (multimon-ng decodes {decoded:?} in it)",
        len as f64 / f64::from(rate),
        share * 100.0,
        stretches.len(),
    );
    assert!(
        share < 0.001,
        "{:.4} % of music masked: {stretches:?}",
        share * 100.0
    );
}
