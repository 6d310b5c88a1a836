//! Keypad digits between two RTP legs as RFC 4733 events: the peer receives each digit once,
//! and the sender's recorded agent side is silence while the digits go out (what a customer
//! or agent types never becomes a tone in the recording).

use std::time::Duration;

use callrec_audio::{Read, Source, Tone};
use callrec_sip::g711::Codec;
use callrec_sip::media::{CallClock, Leg, bind_rtp};
use callrec_sip::sdp::{Agreed, Direction};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digits_arrive_once_each_and_are_never_tones_in_the_recording() {
    let ip = "127.0.0.1".parse().expect("ip");
    let (sa, sb) = (
        bind_rtp(ip).await.expect("a"),
        bind_rtp(ip).await.expect("b"),
    );
    let (a, b) = (sa.local_addr().expect("a"), sb.local_addr().expect("b"));
    let agreed = |remote| Agreed {
        codec: Codec::Pcma,
        remote,
        telephone_event: Some(101),
        comfort_noise: false,
        direction: Direction::SendRecv,
    };
    let clock = CallClock::start();
    let tone = || Box::new(Tone::new(8_000, 440.0, 0.5, 10.0));
    let (leg_a, mut sent_a, _heard_a) = Leg::start(sa, agreed(b), tone(), clock);
    let (leg_b, _sent_b, _heard_b) = Leg::start(sb, agreed(a), tone(), clock);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused = leg_a.send_digits("4711#x").expect_err("x is no digit");
    assert!(
        refused.to_string().contains("['x'] are not keypad symbols"),
        "{refused}"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(leg_b.received_digits(), "4711#");
    assert_eq!(
        leg_b.stats().jitter.lost,
        0,
        "the digits' time is silence, not losses"
    );

    // A's agent side: the tone, then silence while the five digits went out (each 200 ms:
    // 100 ms of event, its end repeated, a 60 ms gap), then the tone again.
    let mut recorded = Vec::new();
    let mut buf = [0f32; 4096];
    while let Ok(Read::Samples(n)) = sent_a.read(&mut buf) {
        recorded.extend_from_slice(&buf[..n]);
    }
    let silent: usize = recorded.iter().filter(|v| **v == 0.0).count();
    assert!(
        (5 * 1_600..=5 * 1_600 + 160).contains(&silent),
        "{silent} silent samples"
    );
    assert!(
        recorded[..3_000].iter().any(|v| v.abs() > 0.4),
        "tone before"
    );
    assert!(
        recorded[recorded.len() - 1_000..]
            .iter()
            .any(|v| v.abs() > 0.4),
        "tone after"
    );

    // Without telephone-events agreed, sending digits is refused with the reason.
    let (sc, sd) = (
        bind_rtp(ip).await.expect("c"),
        bind_rtp(ip).await.expect("d"),
    );
    let plain = Agreed {
        telephone_event: None,
        comfort_noise: false,
        ..agreed(sd.local_addr().expect("d"))
    };
    let (leg_c, _, _) = Leg::start(sc, plain, tone(), clock);
    let err = leg_c.send_digits("1").expect_err("no events");
    assert!(err.to_string().contains("telephone-events"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_the_other_g711_law_is_still_heard() {
    let ip = "127.0.0.1".parse().expect("ip");
    let (sa, sb) = (
        bind_rtp(ip).await.expect("a"),
        bind_rtp(ip).await.expect("b"),
    );
    let (a, b) = (sa.local_addr().expect("a"), sb.local_addr().expect("b"));
    let with = |codec, remote| Agreed {
        codec,
        remote,
        telephone_event: None,
        comfort_noise: false,
        direction: Direction::SendRecv,
    };
    let clock = CallClock::start();
    // A sends A-law, B expects mu-law: B decodes what it gets.
    let (_leg_a, _, _) = Leg::start(
        sa,
        with(Codec::Pcma, b),
        Box::new(Tone::new(8_000, 440.0, 0.5, 5.0)),
        clock,
    );
    let (leg_b, _, mut heard_b) = Leg::start(
        sb,
        with(Codec::Pcmu, a),
        Box::new(Tone::new(8_000, 1_000.0, 0.5, 5.0)),
        clock,
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut heard = Vec::new();
    let mut buf = [0f32; 8_000];
    while let Ok(Read::Samples(n)) = heard_b.read(&mut buf) {
        heard.extend_from_slice(&buf[..n]);
    }
    assert!(leg_b.stats().received > 10, "{:?}", leg_b.stats());
    let peak = heard.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        (0.45..0.55).contains(&peak),
        "the tone at its level, decoded right: {peak}"
    );
}
