//! Two RTP legs talking through a UDP relay that drops 5 % of the packets and swaps others
//! out of order, as a poor network does: the call goes on, the received audio has no gap
//! longer than the loss (concealment fills single losses), and the jitter buffer reports what
//! it did and the delay it added.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use callrec_audio::{Read, Source, Tone};
use callrec_e2e::sip::tone_share;
use callrec_sip::g711::Codec;
use callrec_sip::media::{CallClock, Leg, bind_rtp};
use callrec_sip::sdp::Agreed;

/// Forwards between the two legs; every 20th packet is dropped (`dropped` counts those meant
/// for `b`), every 7th held back and sent after the next one, each way.
async fn relay(
    socket: tokio::net::UdpSocket,
    a: SocketAddr,
    b: SocketAddr,
    dropped: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 2048];
    // Counted each way: counted together, every 20th might always be the same one's.
    let mut counts = [0u64; 2];
    let mut held: Option<(Vec<u8>, SocketAddr)> = None;
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let to = if from == a { b } else { a };
        let count = &mut counts[usize::from(to == b)];
        *count += 1;
        let count = *count;
        if count.is_multiple_of(20) {
            if to == b {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        if count.is_multiple_of(7) && held.is_none() {
            held = Some((buf[..n].to_vec(), to));
            continue;
        }
        let _ = socket.send_to(&buf[..n], to).await;
        if let Some((packet, to)) = held.take() {
            let _ = socket.send_to(&packet, to).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_reordering_network_leaves_no_gap_longer_than_the_loss() {
    let ip = "127.0.0.1".parse().expect("ip");
    let (sa, sb, sr) = (
        bind_rtp(ip).await.expect("a"),
        bind_rtp(ip).await.expect("b"),
        bind_rtp(ip).await.expect("relay"),
    );
    let (a, b, r) = (
        sa.local_addr().expect("a"),
        sb.local_addr().expect("b"),
        sr.local_addr().expect("relay"),
    );
    let dropped = Arc::new(AtomicU64::new(0));
    tokio::spawn(relay(sr, a, b, Arc::clone(&dropped)));
    let clock = CallClock::start();
    let (leg_a, _sent_a, _heard_a) = Leg::start(
        sa,
        Agreed::plain(Codec::Pcmu, r),
        Box::new(Tone::new(8_000, 440.0, 0.5, 10.0)),
        clock,
    );
    let (leg_b, _sent_b, mut heard_b) = Leg::start(
        sb,
        Agreed::plain(Codec::Pcmu, r),
        Box::new(Tone::new(8_000, 1_000.0, 0.5, 10.0)),
        clock,
    );

    // Three seconds of what B hears, read as the recorder reads it.
    let mut heard = Vec::new();
    let mut buf = [0f32; 1024];
    while clock.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        while let Ok(Read::Samples(n)) = heard_b.read(&mut buf) {
            heard.extend_from_slice(&buf[..n]);
        }
    }
    let stats = leg_b.stats();
    let dropped = dropped.load(Ordering::Relaxed);
    assert!(dropped >= 4, "the relay dropped {dropped} of A's packets");
    // Every loss played so far was concealed (the last one may not have played yet).
    assert!(
        stats.jitter.lost + 1 >= dropped,
        "B concealed its losses ({dropped} dropped): {stats:?}"
    );
    assert_eq!(
        stats.jitter.late, 0,
        "reordering by one packet is absorbed: {stats:?}"
    );
    assert_eq!(
        stats.ignored, 0,
        "every packet came from the peer: {stats:?}"
    );
    assert!(leg_a.stats().sent >= 140, "{:?}", leg_a.stats());

    // Audio on the clock, the tone throughout once playing, and no silent stretch: single
    // losses are concealed, not gaps.
    let len = heard.len();
    assert!((23_000..=24_800).contains(&len), "{len} samples in 3 s");
    let playing = heard.iter().position(|&v| v != 0.0).expect("sound");
    assert!(playing < 1_600, "playing within 200 ms: {playing}");
    let body = &heard[playing..];
    let longest_zero_run = body
        .split(|&v| v != 0.0)
        .map(<[f32]>::len)
        .max()
        .unwrap_or(0);
    let gap_at = body
        .windows(8)
        .position(|w| w.iter().all(|&v| v == 0.0))
        .unwrap_or(0);
    assert!(
        longest_zero_run < 8,
        "a gap of {longest_zero_run} samples at {gap_at} of {}: {stats:?}",
        body.len()
    );
    assert!(tone_share(body, 440.0, 8_000.0) > 0.8);
}
