//! SIP test helpers: baresip as an auto-answering peer (a tone as its microphone, what it
//! hears dumped to a file), tones made with sox, and the analysis of recordings.
#![allow(clippy::missing_panics_doc)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `tool` is installed; a missing one fails under CI (which must run every SIP
/// test) and skips the test elsewhere, saying so.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    installed(found, tool)
}

/// `found`, or under CI a failure naming `what` is missing; elsewhere a skip, said.
fn installed(found: bool, what: &str) -> bool {
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the SIP tests: install {what} (scripts/setup does)"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: {what} is not installed (scripts/setup installs it)");
        }
    }
    found
}

/// A UDP port free on loopback now.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 16-bit mono tone (baresip's aufile reads only 16-bit PCM).
pub fn tone(path: &Path, rate: u32, hz: u32, seconds: u32) {
    synth(
        path,
        rate,
        1,
        &[&seconds.to_string(), "sine", &hz.to_string()],
    );
}

/// A 16-bit WAV of `channels` at `rate` made by sox's `synth` with `args`, at half scale.
fn synth(path: &Path, rate: u32, channels: u8, args: &[&str]) {
    run(Command::new("sox")
        .args([
            "-n",
            "-r",
            &rate.to_string(),
            "-c",
            &channels.to_string(),
            "-b",
            "16",
        ])
        .args(["-e", "signed-integer"])
        .arg(path)
        .arg("synth")
        .args(args)
        .args(["vol", "0.5"]));
}

/// baresip on a free port with a tone as its microphone; auto-answers.
pub struct Baresip {
    /// Its folder (config, microphone, dumps).
    pub dir: PathBuf,
    /// Its SIP port.
    pub port: u16,
    child: Child,
}

impl Baresip {
    /// Starts baresip in `dir` on a free port, `hz` as its microphone; `extra` arguments
    /// (e.g. `-t 20` to exit after 20 s, `-e /dial URI`). It speaks PCMU and PCMA.
    pub fn start(dir: &Path, hz: u32, extra: &[&str]) -> Self {
        Self::speaking(dir, hz, "PCMU,PCMA", extra)
    }

    /// [`Baresip::start`], speaking only `codecs`: `PCMU,PCMA` or `opus` (then its audio
    /// runs at 48 kHz in stereo, as baresip's Opus wants, and so do its microphone and dumps).
    pub fn speaking(dir: &Path, hz: u32, codecs: &str, extra: &[&str]) -> Self {
        let (module, codecs, rate, channels) = if codecs == "opus" {
            ("opus.so", "opus/48000/2", 48_000, 2)
        } else {
            ("g711.so", codecs, 8_000, 1)
        };
        std::fs::create_dir_all(dir.join("dump")).expect("mkdir");
        let port = free_udp_port();
        synth(
            &dir.join("mic.wav"),
            rate,
            channels,
            &["30", "sine", &hz.to_string()],
        );
        let rtp = free_udp_port();
        std::fs::write(
            dir.join("config"),
            format!(
                "poll_method epoll\nsip_listen 127.0.0.1:{port}\n\
                 audio_player aufile,{d}/heard.wav\naudio_source aufile,{d}/mic.wav\n\
                 audio_alert aufile,{d}/mic.wav\naudio_srate {rate}\naudio_channels {channels}\n\
                 rtp_ports {rtp}-{}\nmodule_path /usr/lib/baresip/modules\n\
                 module {module}\nmodule aufile.so\nmodule sndfile.so\n\
                 module_app account.so\nmodule_app menu.so\nsnd_path {d}/dump/\n",
                rtp + 10,
                d = dir.display()
            ),
        )
        .expect("config");
        std::fs::write(
            dir.join("accounts"),
            format!("<sip:bob@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs={codecs}\n"),
        )
        .expect("accounts");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .args(["-n", "127.0.0.1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("baresip.log")).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("baresip");
        // Ready once it listens (its log says so).
        let start = Instant::now();
        while !std::fs::read_to_string(dir.join("baresip.log"))
            .is_ok_and(|l| l.contains("baresip is ready"))
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "baresip did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            dir: dir.to_owned(),
            port,
            child,
        }
    }

    /// What baresip heard (the decoder's dump), once the dump holds at least `samples`
    /// (baresip completes the file's header when the call ends).
    pub fn heard_at_least(&self, samples: usize) -> Vec<f32> {
        let start = Instant::now();
        loop {
            let heard = std::fs::read_dir(self.dir.join("dump"))
                .expect("dump")
                .flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
                .and_then(|dump| hound::WavReader::open(&dump).ok().map(|_| dump))
                .map(|dump| read_channel(&dump, 0))
                .unwrap_or_default();
            if heard.len() >= samples || start.elapsed() > Duration::from_secs(10) {
                return heard;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One channel of a 16-bit WAV file, as samples in -1..1.
pub fn read_channel(path: &Path, channel: usize) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).expect("wav");
    let channels = usize::from(reader.spec().channels);
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32_768.0)
        .collect();
    samples.chunks(channels).map(|f| f[channel]).collect()
}

/// How much of `x`'s energy is at `hz` (Goertzel), 0..=1.
pub fn tone_share(x: &[f32], hz: f64, rate: f64) -> f64 {
    let k = 2.0 * (std::f64::consts::TAU * hz / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = f64::from(v) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    let energy: f64 =
        x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() * x.len() as f64 / 2.0;
    power / energy.max(1e-12)
}

/// A periodic chirp (`sweep`, e.g. `300:3300`, every half second): its correlation with
/// itself has one sharp peak per period, and with the opposite sweep none.
pub fn chirp(path: &Path, rate: u32, sweep: &str, seconds: u32) {
    let repeats = (seconds * 2 - 1).to_string();
    synth(path, rate, 1, &["0.5", "sine", sweep, "repeat", &repeats]);
}

/// The lag (in samples, `0..max_lag`) at which `x` best matches the end of `reference`
/// delayed by it, and the normalized correlation there (1: an exact copy, scaled). For a
/// periodic reference, `reference[..x.len() + period]` and `max_lag = period` find any copy.
pub fn best_lag(x: &[f32], reference: &[f32], max_lag: usize) -> (usize, f64) {
    let norm = |s: &[f32]| s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
    let nx = norm(x).max(1e-12);
    (0..max_lag.min(reference.len().saturating_sub(x.len()) + 1))
        .map(|lag| {
            let r = &reference[reference.len() - x.len() - lag..reference.len() - lag];
            let dot: f64 = x
                .iter()
                .zip(r)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            (lag, dot / (nx * norm(r).max(1e-12)))
        })
        .fold((0, f64::MIN), |best, c| if c.1 > best.1 { c } else { best })
}

/// Where the PyPI wheel `pjsua2-python` is installed (scripts/setup puts it there).
fn pjsua2_path() -> PathBuf {
    std::env::var_os("CALLREC_PYTHON_DEPS").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/callrec-python")
        },
        PathBuf::from,
    )
}

/// Whether pjsua2 imports; like [`have`], its absence fails under CI.
pub fn have_pjsua2() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import pjsua2"])
        .env("PYTHONPATH", pjsua2_path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    installed(found, "pjsua2-python")
}

/// A customer on pjsua2 (tests/pjsua2/customer.py): plays `play.wav` from its folder,
/// records what it hears to `heard.wav`, and says what happened line by line.
pub struct Pjsua2 {
    /// Its folder.
    pub dir: PathBuf,
    /// Its SIP port.
    pub port: u16,
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Pjsua2 {
    /// Starts the customer in `dir` (which holds `play.wav`) on a free port with the
    /// script's `args` (`--answer` or `--call URI`, and what it does during the call);
    /// returns once it is ready.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        use std::io::BufRead;
        let port = free_udp_port();
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/pjsua2/customer.py"))
            .args(["--port", &port.to_string()])
            .args(["--rtp-port", &free_udp_port().to_string()])
            .arg("--play")
            .arg(dir.join("play.wav"))
            .arg("--record")
            .arg(dir.join("heard.wav"))
            .arg("--log")
            .arg(dir.join("pjsua2.log"))
            .args(args)
            .env("PYTHONPATH", pjsua2_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pjsua2 customer");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().expect("lines").push(line);
            }
        });
        let mut customer = Self {
            dir: dir.to_owned(),
            port,
            child,
            lines,
        };
        let start = Instant::now();
        while !customer.said("ready") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "pjsua2 did not start: {:?}",
                customer.child.try_wait()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        customer
    }

    /// Whether it said a line starting with `prefix`.
    pub fn said(&self, prefix: &str) -> bool {
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .any(|l| l.starts_with(prefix))
    }

    /// Waits for it to exit (the call over); its success and everything it said.
    pub fn wait(mut self) -> (bool, Vec<String>) {
        let status = self.child.wait().expect("wait");
        // Its last lines reach the reader thread just after it exits.
        std::thread::sleep(Duration::from_millis(100));
        let lines = self.lines.lock().expect("lines").clone();
        (status.success(), lines)
    }
}

impl Drop for Pjsua2 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keypad tones at 8 kHz: each of `keys` (0-9, *, #, A-D) for `ms`, at `level` (peak of each
/// of its two sines), 250 ms apart, after `lead_ms` of silence; written to `path` as 16-bit
/// mono.
pub fn dtmf_wav(path: &Path, keys: &str, ms: u32, level: f32, lead_ms: u32) {
    const ROWS: [&str; 4] = ["123A", "456B", "789C", "*0#D"];
    const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    let rate = 8_000.0;
    let at = |ms: u32| (f64::from(ms) * rate / 1000.0) as usize;
    let mut samples = vec![0.0f32; at(lead_ms)];
    for key in keys.chars() {
        let (row, col) = ROWS
            .iter()
            .enumerate()
            .find_map(|(r, keys)| keys.find(key).map(|c| (r, c)))
            .unwrap_or_else(|| panic!("{key:?} is not a keypad key"));
        samples.extend((0..at(ms)).map(|i| {
            let t = i as f64 / rate;
            level
                * ((std::f64::consts::TAU * LOW[row] * t).sin()
                    + (std::f64::consts::TAU * HIGH[col] * t).sin()) as f32
        }));
        samples.extend(std::iter::repeat_n(0.0, at(250)));
    }
    samples.extend(std::iter::repeat_n(0.0, at(30_000)));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("wav");
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32_767.0) as i16)
            .expect("write");
    }
    w.finalize().expect("finalize");
}

/// The keys multimon-ng (a DTMF decoder nobody here wrote) finds in `samples` at `rate`, in
/// order; `scratch` holds its files.
pub fn dtmf_decode(scratch: &Path, samples: &[f32], rate: u32) -> String {
    let wav = scratch.join("decode.wav");
    let raw = scratch.join("decode.raw");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).expect("wav");
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32_767.0) as i16)
            .expect("write");
    }
    w.finalize().expect("finalize");
    run(Command::new("sox")
        .arg(&wav)
        .args([
            "-t", "raw", "-r", "22050", "-e", "signed", "-b", "16", "-c", "1",
        ])
        .arg(&raw));
    let out = Command::new("multimon-ng")
        .args(["-q", "-t", "raw", "-a", "DTMF"])
        .arg(&raw)
        .output()
        .expect("multimon-ng");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("DTMF: "))
        .collect()
}
