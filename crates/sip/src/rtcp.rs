//! RTCP (RFC 3550 6): every leg reports on the port above its RTP, every 5 s, what it
//! received (a receiver report) and, while it sends, what it sent (a sender report), with its
//! CNAME; and it reads its peer's reports: the loss and jitter the peer saw of callrec's
//! stream, and the round trip. Those are the leg's figures for the agent and the logs.
//!
//! RTCP is symmetric, as RTP is: once the peer's reports arrive from an address, callrec's
//! go there (a NAT), else to the port above the peer's RTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rtcp_types::{
    Compound, Packet, ReceiverReport, ReportBlock, ReportBlockBuilder, RtcpPacketWriterExt, Sdes,
    SdesChunk, SdesItem, SenderReport,
};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How often a leg reports (RFC 3550 6.2: at least 5 s apart in a small session).
pub const INTERVAL: Duration = Duration::from_secs(5);

/// What the peer's last report said of callrec's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerReport {
    /// The share of callrec's packets lost since the peer's previous report, out of 256.
    pub fraction_lost: u8,
    /// callrec's packets the peer never received, in all (negative with duplicates).
    pub cumulative_lost: i32,
    /// The interarrival jitter the peer measured.
    pub jitter: Duration,
    /// The round trip, once the peer echoed one of callrec's sender reports.
    pub round_trip: Option<Duration>,
}

/// What a leg sent, for its sender reports.
#[derive(Debug, Default)]
pub(crate) struct Sending {
    pub packets: u64,
    pub octets: u64,
    /// The last packet's RTP timestamp, and when it went.
    pub last: Option<(u32, Instant)>,
}

/// The reception of the peer's source (RFC 3550 A.1, A.3, A.8).
#[derive(Debug, Default)]
pub(crate) struct Reception {
    ssrc: Option<u32>,
    base_seq: u64,
    /// The highest sequence number seen, extended with its cycles.
    max_seq: u64,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Interarrival jitter, in timestamp units.
    jitter: f64,
    transit: Option<f64>,
    /// The middle 32 bits of the NTP time in the peer's last sender report, and its arrival.
    last_sr: Option<(u32, Instant)>,
    /// After a jump in sequence numbers: the number that would confirm it.
    bad_seq: Option<u64>,
}

/// A jump forward beyond this many packets is a restart, not a loss (RFC 3550 A.1).
const MAX_DROPOUT: i64 = 3_000;
/// A packet this far behind the highest is from an earlier numbering, not late.
const MAX_MISORDER: i64 = 100;

impl Reception {
    /// A packet of the peer's (voice, comfort noise or a keypad event) with `seq` arrived at
    /// `arrival` (call clock); `timing`: whether its timestamp is its sampling instant (voice),
    /// for the jitter, at `clock` Hz.
    pub(crate) fn packet(
        &mut self,
        ssrc: u32,
        seq: u16,
        ts: u32,
        arrival: Duration,
        clock: u32,
        timing: bool,
    ) {
        let seq = u64::from(seq);
        if self.ssrc == Some(ssrc) {
            // Extend the sequence number next to the highest one (RFC 3550 A.1).
            let ext = crate::wrap::nearest(Some(self.max_seq), seq, 16);
            let jump = ext as i64 - self.max_seq as i64;
            if !(-MAX_MISORDER..MAX_DROPOUT).contains(&jump) {
                // A jump (the peer restarted its numbering): believed once the next packet
                // follows it, and then counted afresh; until then, not counted at all.
                if self.bad_seq != Some(seq) {
                    self.bad_seq = Some((seq + 1) & 0xFFFF);
                    return;
                }
                *self = Self {
                    ssrc: Some(ssrc),
                    base_seq: (1 << 16) | seq,
                    max_seq: (1 << 16) | seq,
                    last_sr: self.last_sr,
                    ..Self::default()
                };
            } else {
                self.max_seq = self.max_seq.max(ext);
            }
            self.bad_seq = None;
        } else if !timing && self.ssrc.is_some() {
            // Another source's keypad events (a border controller's own SSRC): not this
            // stream's numbering.
            return;
        } else {
            // A new source (or the first): its counts start over.
            *self = Self {
                ssrc: Some(ssrc),
                base_seq: (1 << 16) | seq,
                max_seq: (1 << 16) | seq,
                last_sr: self.last_sr,
                ..Self::default()
            };
        }
        self.received += 1;
        if timing {
            let transit = arrival.as_secs_f64() * f64::from(clock) - f64::from(ts);
            if let Some(previous) = self.transit {
                let d = (transit - previous).abs();
                // A wrap of the timestamp is no jitter.
                if d < f64::from(clock) * 10.0 {
                    self.jitter += (d - self.jitter) / 16.0;
                }
            }
            self.transit = Some(transit);
        }
    }

    /// The peer's source `ssrc` sent a sender report stamped `ntp` (kept when it is the
    /// stream heard, or before any is).
    pub(crate) fn sender_report(&mut self, ssrc: u32, ntp: u64) {
        if self.ssrc.is_none_or(|heard| heard == ssrc) {
            self.last_sr = Some(((ntp >> 16) as u32, Instant::now()));
        }
    }

    /// The report block about the peer's source, and the interval's counts moved on.
    fn block(&mut self) -> Option<ReportBlockBuilder> {
        let ssrc = self.ssrc?;
        let expected = self.max_seq - self.base_seq + 1;
        let lost = expected as i64 - self.received as i64;
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (lsr, dlsr) = self.last_sr.map_or((0, 0), |(mid, at)| {
            (mid, (at.elapsed().as_secs_f64() * 65_536.0) as u32)
        });
        // 24-bit two's complement, clamped.
        let cumulative = (lost.clamp(-0x80_0000, 0x7F_FFFF) as i32 as u32) & 0xFF_FFFF;
        Some(
            ReportBlock::builder(ssrc)
                .fraction_lost(fraction)
                .cumulative_lost(cumulative)
                .extended_sequence_number((self.max_seq - (1 << 16)) as u32)
                .interarrival_jitter(self.jitter as u32)
                .last_sender_report_timestamp(lsr)
                .delay_since_last_sender_report_timestamp(dlsr),
        )
    }
}

/// Now as a 64-bit NTP timestamp (seconds since 1900, and a 32-bit fraction).
fn ntp_now() -> u64 {
    let since_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since_unix.as_secs() + 2_208_988_800;
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// What a leg's RTCP task needs.
pub(crate) struct Rtcp {
    pub socket: UdpSocket,
    pub ssrc: u32,
    /// Where the leg sends RTP now (its RTCP goes one port up, until the peer's arrives).
    pub rtp_target: Arc<Mutex<SocketAddr>>,
    pub reception: Arc<Mutex<Reception>>,
    pub sending: Arc<Mutex<Sending>>,
    pub peer: Arc<Mutex<Option<PeerReport>>>,
    /// The RTP clock rate of the leg's codec.
    pub clock: u32,
    pub cancel: CancellationToken,
}

/// Reports every [`INTERVAL`] (the first after one second) and reads the peer's, until
/// cancelled.
pub(crate) async fn run(rtcp: Rtcp) {
    let cname = format!(
        "callrec-{:08x}@{}",
        rtcp.ssrc,
        rtcp.socket
            .local_addr()
            .map_or_else(|_| "localhost".into(), |a| a.ip().to_string())
    );
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        INTERVAL,
    );
    let mut latched: Option<SocketAddr> = None;
    let mut sent_at_last_report = 0u64;
    let mut buf = vec![0u8; 1_500];
    loop {
        tokio::select! {
            () = rtcp.cancel.cancelled() => return,
            _ = tick.tick() => {
                let to = latched.unwrap_or_else(|| {
                    let rtp = *lock(&rtcp.rtp_target);
                    SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))
                });
                if let Some(report) = report(&rtcp, &cname, &mut sent_at_last_report) {
                    // A report that cannot go (a full buffer) is the next one's job.
                    let _ = rtcp.socket.try_send_to(&report, to);
                }
            }
            received = rtcp.socket.recv_from(&mut buf) => {
                let Ok((n, from)) = received else { continue };
                // Only the peer's host: a stranger neither redirects the reports nor
                // writes the figures.
                if from.ip() != lock(&rtcp.rtp_target).ip() {
                    continue;
                }
                if read(&rtcp, &buf[..n]) {
                    latched = Some(from);
                }
            }
        }
    }
}

/// This leg's compound report: a sender report while it sends (else a receiver report),
/// with a block about the peer's stream once it was heard, and the CNAME.
fn report(rtcp: &Rtcp, cname: &str, sent_at_last_report: &mut u64) -> Option<Vec<u8>> {
    let block = lock(&rtcp.reception).block();
    let sending = lock(&rtcp.sending);
    let sender = sending.packets > *sent_at_last_report;
    *sent_at_last_report = sending.packets;
    let sdes = Sdes::builder().add_chunk(
        SdesChunk::builder(rtcp.ssrc).add_item(SdesItem::builder(SdesItem::CNAME, cname)),
    );
    let compound = if sender {
        let rtp_ts = sending.last.map_or(0, |(ts, at)| {
            ts.wrapping_add((at.elapsed().as_secs_f64() * f64::from(rtcp.clock)) as u32)
        });
        let mut sr = SenderReport::builder(rtcp.ssrc)
            .ntp_timestamp(ntp_now())
            .rtp_timestamp(rtp_ts)
            .packet_count(sending.packets as u32)
            .octet_count(sending.octets as u32);
        if let Some(block) = block {
            sr = sr.add_report_block(block);
        }
        Compound::builder().add_packet(sr).add_packet(sdes)
    } else {
        let mut rr = ReceiverReport::builder(rtcp.ssrc);
        if let Some(block) = block {
            rr = rr.add_report_block(block);
        }
        Compound::builder().add_packet(rr).add_packet(sdes)
    };
    drop(sending);
    let mut out = vec![0u8; 1_500];
    let n = compound.write_into(&mut out).ok()?;
    out.truncate(n);
    Some(out)
}

/// Reads a compound packet from the peer; whether it was RTCP.
fn read(rtcp: &Rtcp, data: &[u8]) -> bool {
    let Ok(compound) = Compound::parse(data) else {
        return false;
    };
    for packet in compound.flatten() {
        let blocks: Vec<_> = match &packet {
            Packet::Sr(sr) => {
                lock(&rtcp.reception).sender_report(sr.ssrc(), sr.ntp_timestamp());
                sr.report_blocks().map(|b| summary(&b)).collect()
            }
            Packet::Rr(rr) => rr.report_blocks().map(|b| summary(&b)).collect(),
            _ => continue,
        };
        for (ssrc, report) in blocks {
            if ssrc == rtcp.ssrc {
                let report = PeerReport {
                    jitter: Duration::from_secs_f64(
                        f64::from(report.jitter_ticks) / f64::from(rtcp.clock),
                    ),
                    ..report.report
                };
                *lock(&rtcp.peer) = Some(report);
            }
        }
    }
    true
}

struct Summary {
    report: PeerReport,
    jitter_ticks: u32,
}

/// A report block as a [`PeerReport`] (its jitter still in timestamp units).
fn summary(block: &ReportBlock<'_>) -> (u32, Summary) {
    let raw = block.cumulative_lost() & 0xFF_FFFF;
    // Sign-extend the 24-bit count.
    let cumulative_lost = ((raw << 8) as i32) >> 8;
    let (lsr, dlsr) = (
        block.last_sender_report_timestamp(),
        block.delay_since_last_sender_report_timestamp(),
    );
    let round_trip = (lsr != 0).then(|| {
        let now = (ntp_now() >> 16) as u32;
        let rtt = now.wrapping_sub(lsr).wrapping_sub(dlsr);
        Duration::from_secs_f64(f64::from(rtt) / 65_536.0)
    });
    (
        block.ssrc(),
        Summary {
            report: PeerReport {
                fraction_lost: block.fraction_lost(),
                cumulative_lost,
                jitter: Duration::ZERO,
                // A round trip over a minute is a clock that stepped, not the network.
                round_trip: round_trip.filter(|r| *r < Duration::from_secs(60)),
            },
            jitter_ticks: block.interarrival_jitter(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcp_types::RtcpPacketParser;

    /// `block` written in a receiver report and read back, as `read` sees it.
    fn reread<T>(block: ReportBlockBuilder, read: impl FnOnce(&ReportBlock<'_>) -> T) -> T {
        let mut buf = [0u8; 64];
        let n = ReceiverReport::builder(1)
            .add_report_block(block)
            .write_into(&mut buf)
            .expect("write");
        let parsed = rtcp_types::ReceiverReport::parse(&buf[..n]).expect("parse");
        read(&parsed.report_blocks().next().expect("block"))
    }

    #[test]
    fn loss_and_its_fraction_follow_rfc_3550() {
        let mut r = Reception::default();
        // 100 packets expected (seq 65500..65599, through the wrap), 95 received.
        for i in 0u32..100 {
            if i % 20 == 7 {
                continue;
            }
            let seq = (65_500 + i) as u16;
            r.packet(
                9,
                seq,
                i * 160,
                Duration::from_millis(u64::from(i) * 20),
                8_000,
                true,
            );
        }
        reread(r.block().expect("a block"), |b| {
            assert_eq!(b.ssrc(), 9);
            assert_eq!(b.cumulative_lost(), 5);
            assert_eq!(b.fraction_lost(), (5 * 256 / 100) as u8);
            assert_eq!(b.extended_sequence_number(), (1 << 16) + 99 - 36);
            assert_eq!(b.interarrival_jitter(), 0, "paced packets have no jitter");
        });
        // The next interval: nothing new, nothing lost.
        let again = reread(r.block().expect("a block"), |b| b.fraction_lost());
        assert_eq!(again, 0);
    }

    #[test]
    fn a_restart_of_the_numbering_is_no_loss_and_a_strangers_events_no_reset() {
        let mut r = Reception::default();
        let at = |i: u64| Duration::from_millis(i * 20);
        for i in 0..50u16 {
            r.packet(
                9,
                40_000 + i,
                u32::from(i) * 160,
                at(u64::from(i)),
                8_000,
                true,
            );
        }
        // A keypad event under another SSRC changes nothing.
        r.packet(77, 5, 0, at(50), 8_000, false);
        // The peer restarts at 1000: the first packet waits, the second confirms.
        for i in 0..50u16 {
            let t = u64::from(i) + 51;
            r.packet(9, 1_000 + i, u32::from(i) * 160, at(t), 8_000, true);
        }
        let (ssrc, lost) = reread(r.block().expect("a block"), |b| {
            (b.ssrc(), b.cumulative_lost())
        });
        assert_eq!((ssrc, lost), (9, 0), "no loss reported");
    }

    #[test]
    fn a_negative_cumulative_loss_reads_back_negative() {
        let block = ReportBlock::builder(3).cumulative_lost(0xFF_FFFE);
        let lost = reread(block, |b| summary(b).1.report.cumulative_lost);
        assert_eq!(lost, -2);
    }
}
