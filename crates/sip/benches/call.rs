//! The softphone's costs, on loopback: `cargo bench -p callrec-sip --bench call`.
//!
//! Two RTP legs call each other (each sends a paced tone and plays what it receives, as the
//! recorder reads it) and the bench reports:
//! - CPU per call, as % of one core (the process's CPU time over the wall time, halved:
//!   both ends run here);
//! - the delay from the sender's source to the receiver's output (a click's travel), and
//!   the jitter buffer's share of it;
//! - RSS after 10 s and at the end, to show nothing grows with the call's length.
//!
//! `CALL_SECONDS` sets the length (default 60), `CALL_CODEC` the codec (`pcmu`, the
//! default, `pcma` or `opus`).

use std::time::{Duration, Instant};

use callrec_audio::{Read, Source};
use callrec_sip::g711::Codec;
use callrec_sip::media::{CallClock, Leg, bind_rtp};
use callrec_sip::sdp::{Agreed, Direction};

/// A tone delivered at the pace of the clock, with a click (full scale) at `click_at`.
struct PacedTone {
    clock: CallClock,
    delivered: u64,
    click_at: u64,
}

impl Source for PacedTone {
    fn rate(&self) -> u32 {
        8_000
    }
    fn read(&mut self, out: &mut [f32]) -> callrec_audio::Result<Read> {
        let due = (self.clock.elapsed().as_secs_f64() * 8_000.0) as u64;
        let n = usize::try_from(due.saturating_sub(self.delivered))
            .unwrap_or(0)
            .min(out.len());
        if n == 0 {
            return Ok(Read::Pending);
        }
        for (i, o) in out[..n].iter_mut().enumerate() {
            let k = self.delivered + i as u64;
            *o = if (self.click_at..self.click_at + 8).contains(&k) {
                1.0
            } else {
                0.1 * (std::f64::consts::TAU * 440.0 * k as f64 / 8_000.0).sin() as f32
            };
        }
        self.delivered += n as u64;
        Ok(Read::Samples(n))
    }
}

fn cpu_seconds() -> f64 {
    // utime and stime, fields 14 and 15 of /proc/self/stat, in clock ticks (100 a second).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1_048_576.0
}

#[allow(clippy::print_stdout)]
fn main() {
    let seconds: u64 = std::env::var("CALL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let codec = match std::env::var("CALL_CODEC").as_deref() {
        Ok("opus") => Codec::Opus(callrec_sip::g711::OPUS_PAYLOAD_TYPE),
        Ok("pcma") => Codec::Pcma,
        _ => Codec::Pcmu,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let ip = "127.0.0.1".parse().expect("ip");
        let (sa, sb) = (
            bind_rtp(ip).await.expect("a"),
            bind_rtp(ip).await.expect("b"),
        );
        let (a, b) = (sa.local_addr().expect("a"), sb.local_addr().expect("b"));
        let agreed = |remote| Agreed {
            codec,
            remote,
            telephone_event: None,
            comfort_noise: false,
            direction: Direction::SendRecv,
        };
        let clock = CallClock::start();
        let click_at = 8_000 * 2; // 2 s into the call
        let tone = |click_at| PacedTone {
            clock,
            delivered: 0,
            click_at,
        };
        let (_leg_a, mut sent_a, mut heard_a) =
            Leg::start(sa, agreed(b), Box::new(tone(click_at)), clock);
        let (leg_b, mut sent_b, mut heard_b) =
            Leg::start(sb, agreed(a), Box::new(tone(u64::MAX)), clock);
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        let mut heard = Vec::new();
        let mut rss_10s = None;
        let mut buf = [0f32; 2048];
        while clock.elapsed() < Duration::from_secs(seconds) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            // The recorder's reads: both sides of both ends.
            for source in [&mut sent_a, &mut heard_a, &mut sent_b] {
                while let Ok(Read::Samples(_)) = source.read(&mut buf) {}
            }
            while let Ok(Read::Samples(n)) = heard_b.read(&mut buf) {
                if heard.len() < 8_000 * 5 {
                    heard.extend_from_slice(&buf[..n]);
                }
            }
            if rss_10s.is_none() && clock.elapsed() >= Duration::from_secs(10) {
                rss_10s = Some(rss_mib());
            }
        }
        let cpu = (cpu_seconds() - cpu0) / wall0.elapsed().as_secs_f64() / 2.0 * 100.0;
        // The click stands out of the 0.1 tone whatever the codec does to its edges.
        let click = heard.iter().position(|&v| v > 0.5);
        let stats = leg_b.stats();
        println!(
            "softphone on loopback, {seconds} s call, {}, 20 ms packets:",
            codec.name()
        );
        println!("  CPU per call: {cpu:.2}% of one core (both ends measured, halved)");
        match click {
            Some(at) => println!(
                "  source to output: {:.1} ms (jitter buffer: {} ms; the rest is 20 ms packetisation and scheduling)",
                (at as f64 - click_at as f64) / 8.0,
                stats.jitter.delay.as_millis()
            ),
            None => println!("  source to output: the click never arrived"),
        }
        println!(
            "  RSS: {:.1} MiB after 10 s, {:.1} MiB after {seconds} s",
            rss_10s.unwrap_or(0.0),
            rss_mib()
        );
        println!(
            "  packets: {} received, {} lost, {} late",
            stats.received, stats.jitter.lost, stats.jitter.late
        );
    });
}
