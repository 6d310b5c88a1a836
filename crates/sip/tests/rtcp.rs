//! RTCP between two legs through a relay that drops every 20th RTP packet one way: each
//! leg's reports reach the other, and what a leg's peer reports of its stream (loss, its
//! share, jitter, the round trip) is what the network did.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use callrec_audio::Tone;
use callrec_sip::g711::Codec;
use callrec_sip::media::{CallClock, Leg, RtpPorts, bind_media};
use callrec_sip::sdp::Agreed;

/// Forwards RTP between `a` and `b` (every 20th packet for `b` dropped, counted) and their
/// RTCP, one port up, untouched.
async fn relay(ports: RtpPorts, a: SocketAddr, b: SocketAddr, dropped: Arc<AtomicU64>) {
    let up = |x: SocketAddr| SocketAddr::new(x.ip(), x.port() + 1);
    let rtcp = ports.rtcp.expect("the relay's RTCP port");
    let rtp = ports.rtp;
    let (mut buf, mut ctl) = (vec![0u8; 2048], vec![0u8; 2048]);
    let mut count = 0u64;
    loop {
        tokio::select! {
            r = rtp.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { return };
                let to = if from == a { b } else { a };
                // Counted one way only: both ways, the 20th might always be the other's.
                if to == b {
                    count += 1;
                }
                if to == b && count.is_multiple_of(20) {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let _ = rtp.send_to(&buf[..n], to).await;
            }
            r = rtcp.recv_from(&mut ctl) => {
                let Ok((n, from)) = r else { return };
                let to = if from == up(a) { up(b) } else { up(a) };
                let _ = rtcp.send_to(&ctl[..n], to).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_leg_learns_from_its_peers_reports_what_the_network_did_to_its_stream() {
    let ip = "127.0.0.1".parse().expect("ip");
    let (pa, pb, pr) = (
        bind_media(ip).await.expect("a"),
        bind_media(ip).await.expect("b"),
        bind_media(ip).await.expect("relay"),
    );
    let (a, b, r) = (
        pa.rtp.local_addr().expect("a"),
        pb.rtp.local_addr().expect("b"),
        pr.rtp.local_addr().expect("relay"),
    );
    for ports in [&pa, &pb, &pr] {
        let rtp = ports.rtp.local_addr().expect("rtp").port();
        let rtcp = ports
            .rtcp
            .as_ref()
            .expect("rtcp")
            .local_addr()
            .expect("rtcp")
            .port();
        assert!(rtp % 2 == 0 && rtcp == rtp + 1, "RTP {rtp}, RTCP {rtcp}");
    }
    let dropped = Arc::new(AtomicU64::new(0));
    tokio::spawn(relay(pr, a, b, Arc::clone(&dropped)));
    let clock = CallClock::start();
    let tone = |hz| Box::new(Tone::new(8_000, hz, 0.5, 10.0));
    let (leg_a, _sent_a, _heard_a) =
        Leg::start(pa, Agreed::plain(Codec::Pcmu, r), tone(440.0), clock);
    let (leg_b, _sent_b, _heard_b) =
        Leg::start(pb, Agreed::plain(Codec::Pcmu, r), tone(1_000.0), clock);
    assert_eq!(leg_a.stats().peer, None, "no report before the first");

    // Reports go at 1 s and 6 s; B's second one covers 5 s of A's stream.
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    let a_heard_of = leg_a.stats().peer.expect("B reported on A's stream");
    let b_heard_of = leg_b.stats().peer.expect("A reported on B's stream");
    let dropped = i32::try_from(dropped.load(Ordering::Relaxed)).expect("count");
    assert!(
        a_heard_of.cumulative_lost > 0 && a_heard_of.cumulative_lost <= dropped,
        "B reports {} of A's packets lost; the relay dropped {dropped}",
        a_heard_of.cumulative_lost
    );
    // One in 20 of A's packets: 5 %, about 13 in 256.
    assert!(
        (9..=17).contains(&a_heard_of.fraction_lost),
        "{a_heard_of:?}"
    );
    assert_eq!(b_heard_of.cumulative_lost, 0, "nothing of B's was dropped");
    assert_eq!(b_heard_of.fraction_lost, 0);
    // Both sent: each echoed the other's sender report, so each knows the round trip.
    for report in [a_heard_of, b_heard_of] {
        let rtt = report.round_trip.expect("a round trip");
        assert!(rtt < Duration::from_millis(100), "{rtt:?} on loopback");
        assert!(report.jitter < Duration::from_millis(20), "{report:?}");
    }
}
