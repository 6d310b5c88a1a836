//! End-to-end tests live in `tests/`; this library holds what they and other crates' SIP
//! tests share: baresip as a peer, tones, and what a recording holds.

pub mod sip;
pub mod tls;

/// The test PulseAudio's folder (`scripts/pulse-up` starts it and sets
/// `CALLREC_PULSE_DIR`); ALSA finds its devices with `HOME` at its `home`. Without one, a
/// failure under CI and a skip, said, elsewhere.
pub fn pulse_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("CALLREC_PULSE_DIR") {
        Some(dir) => Some(dir.into()),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI must run the audio device tests: source scripts/pulse-up first")
        }
        None => {
            // A test's note to the person running it outside scripts/test.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipped: no PulseAudio (run through scripts/test, which starts one)");
            }
            None
        }
    }
}
