//! What a peer sends besides its voice. Early media: the RTP a callee plays before it
//! answers (after a 183 with SDP) reaches the agent's headset through a jitter buffer; RTP
//! from another host does not. Comfort noise (RFC 3389): the peer's silence is heard (and
//! recorded) as the background noise it describes, not as dead air, and is no loss.

use std::time::Duration;

use callrec_audio::{Read, Source};
use callrec_sip::g711::Codec;
use callrec_sip::media::{CallClock, EarlyMedia, Leg, bind_rtp};
use callrec_sip::sdp::{self, Agreed, Direction};

/// `count` 20 ms PCMU packets of `hz` from `socket` to `to`, paced.
async fn send_tone(socket: &tokio::net::UdpSocket, to: std::net::SocketAddr, hz: f32, count: u16) {
    send_tone_from(socket, to, hz, 0, count).await;
}

/// [`send_tone`], its sequence numbers and timestamps from frame `first` on.
async fn send_tone_from(
    socket: &tokio::net::UdpSocket,
    to: std::net::SocketAddr,
    hz: f32,
    first: u16,
    count: u16,
) {
    let mut payload = Vec::new();
    let mut pcmu = callrec_sip::voice::Encoder::new(Codec::Pcmu);
    // On a steady 20 ms clock, as a real sender's: slept 20 ms at a time, they would drift.
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    for seq in first..first + count {
        clock.tick().await;
        let frame: Vec<f32> = (0..160)
            .map(|i| {
                let t = f32::from(seq) * 160.0 + i as f32;
                0.5 * (std::f32::consts::TAU * hz * t / 8_000.0).sin()
            })
            .collect();
        payload.clear();
        pcmu.encode(&frame, &mut payload);
        let packet = rtp_types::RtpPacketBuilder::<&[u8], &[u8]>::new()
            .payload_type(0)
            .sequence_number(seq)
            .timestamp(u32::from(seq) * 160)
            .ssrc(7)
            .payload(payload.as_slice())
            .write_vec()
            .expect("packet");
        socket.send_to(&packet, to).await.expect("send");
    }
}

fn drain(source: &mut dyn Source) -> Vec<f32> {
    let mut out = Vec::new();
    let mut buf = [0f32; 1024];
    while let Ok(Read::Samples(n)) = source.read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callees_early_media_plays_and_a_strangers_does_not() {
    let ip = "127.0.0.1".parse().expect("ip");
    let ours = bind_rtp(ip).await.expect("ours");
    let callee = bind_rtp(ip).await.expect("callee");
    let stranger = bind_rtp("127.0.0.2".parse().expect("ip"))
        .await
        .expect("stranger");
    let (early, mut headset) = EarlyMedia::new();
    let (sdp_tx, sdp_rx) = tokio::sync::mpsc::unbounded_channel();
    let to = ours.local_addr().expect("addr");
    let callee_addr = callee.local_addr().expect("addr");
    let ringing = async {
        // The stranger plays first, before any 183: nothing is listened to yet.
        send_tone(&stranger, to, 1_000.0, 5).await;
        let answer = sdp::describe(
            callee_addr,
            &[Codec::Pcmu],
            Direction::SendRecv,
            None,
            false,
            1,
            1,
        );
        sdp_tx.send(answer).expect("sdp");
        tokio::join!(
            send_tone(&callee, to, 425.0, 50),
            send_tone(&stranger, to, 1_000.0, 50)
        );
        // The last packets played, then the call is answered.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::select! {
        () = early.play(&ours, sdp_rx) => panic!("early media stopped while it rang"),
        () = ringing => {}
    }
    let heard = drain(headset.as_mut());
    assert_eq!(
        early.packets(),
        50,
        "the callee's packets, not the stranger's"
    );
    assert!(heard.len() >= 40 * 160, "{} samples heard", heard.len());
    // Played from the first loud sample on: the callee's second of tone, whole.
    let from = heard.iter().position(|v| v.abs() > 0.3).expect("the tone");
    let tone = &heard[from..(from + 40 * 160).min(heard.len())];
    assert!(tone.len() == 40 * 160, "{} samples of tone", tone.len());
    // A 425 Hz tone crosses zero upward 425 times a second; 1000 Hz or a mix, far more.
    let rising = tone
        .windows(2)
        .filter(|w| w[0] <= 0.0 && w[1] > 0.0)
        .count();
    let hz = rising as f64 * 8_000.0 / tone.len() as f64;
    assert!((380.0..470.0).contains(&hz), "heard {hz} Hz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_comfort_noise_fills_its_silence_at_its_level_and_is_no_loss() {
    let ip = "127.0.0.1".parse().expect("ip");
    let ours = bind_rtp(ip).await.expect("ours");
    let peer = bind_rtp(ip).await.expect("peer");
    let (to, from) = (
        ours.local_addr().expect("addr"),
        peer.local_addr().expect("addr"),
    );
    let agreed = Agreed {
        codec: Codec::Pcmu,
        remote: from,
        telephone_event: None,
        comfort_noise: true,
        direction: Direction::SendRecv,
    };
    let silence = Box::new(callrec_audio::Tone::new(8_000, 440.0, 0.0, 10.0));
    let (leg, _sent, mut heard) = Leg::start(ours, agreed, silence, CallClock::start());
    // Half a second of voice, then one comfort-noise packet (−50 dBov) and a second of
    // nothing, then voice again: a peer with silence suppression (RFC 3389).
    send_tone_from(&peer, to, 425.0, 0, 25).await;
    let cn = |seq: u16| {
        rtp_types::RtpPacketBuilder::<&[u8], &[u8]>::new()
            .payload_type(sdp::COMFORT_NOISE)
            .sequence_number(seq)
            .timestamp(u32::from(seq) * 160)
            .ssrc(7)
            .payload([50u8].as_slice())
            .write_vec()
            .expect("packet")
    };
    peer.send_to(&cn(25), to).await.expect("send");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    send_tone_from(&peer, to, 425.0, 76, 25).await;
    // Silent again, as described.
    tokio::time::sleep(Duration::from_millis(20)).await;
    peer.send_to(&cn(101), to).await.expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let played = drain(heard.as_mut());
    let frames: Vec<f32> = played
        .chunks_exact(160)
        .map(|c| (c.iter().map(|v| v * v).sum::<f32>() / 160.0).sqrt())
        .collect();
    let voice = frames.iter().position(|&r| r > 0.3).expect("the voice");
    // From the CN packet's turn to the voice again: noise at about −50 dBov (0.003 RMS),
    // never dead air, never the voice repeated.
    let quiet = &frames[voice + 26..voice + 75];
    assert!(
        quiet.iter().all(|&r| (0.002..0.005).contains(&r)),
        "the silence: {quiet:?}"
    );
    assert!(
        frames[voice + 77..voice + 100].iter().all(|&r| r > 0.3),
        "the voice after it"
    );
    assert_eq!(leg.stats().jitter.lost, 0, "a described silence is no loss");
}
