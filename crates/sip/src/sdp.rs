//! SDP offer/answer (RFC 3264) for one audio stream: what callrec offers, and what it agrees
//! to from a peer's offer or answer.

use std::net::{IpAddr, SocketAddr};

use crate::error::{Result, SipError};
use crate::g711::Codec;

/// The payload type callrec offers for RFC 4733 telephone-events (DTMF).
pub const TELEPHONE_EVENT: u8 = 101;

/// Which way media flows, from the describing side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Both ways.
    SendRecv,
    /// It sends only (e.g. it holds the call with music).
    SendOnly,
    /// It receives only.
    RecvOnly,
    /// Neither (a call on hold).
    Inactive,
}

impl Direction {
    fn attribute(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// What the other side answers to this (RFC 3264 6.1).
    pub fn answer(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            other => other,
        }
    }
}

/// An audio stream as a session description describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    /// Where its RTP goes (port 0: the stream is refused).
    pub addr: SocketAddr,
    /// The G.711 codecs it accepts, in its order of preference.
    pub codecs: Vec<Codec>,
    /// Its telephone-event payload type, if any.
    pub telephone_event: Option<u8>,
    /// Whether it takes comfort noise (RFC 3389, `CN/8000`, payload type 13).
    pub comfort_noise: bool,
    /// Which way it lets media flow.
    pub direction: Direction,
    /// The payload types it listed, for messages.
    pub offered: String,
    /// Its place among the description's media streams.
    pub index: usize,
    /// The other streams (video, a second audio), refused in an answer: their place and
    /// their m-line with port 0 (RFC 3264 6: an answer has as many m-lines, in order).
    pub refused: Vec<(usize, String)>,
}

/// Comfort noise's static payload type at 8 kHz (RFC 3551, RFC 3389).
pub const COMFORT_NOISE: u8 = 13;

/// Writes a session description for one audio stream at `addr`: `codecs` in order,
/// telephone-events, and comfort noise.
pub fn describe(
    addr: SocketAddr,
    codecs: &[Codec],
    direction: Direction,
    telephone_event: Option<u8>,
    comfort_noise: bool,
    session: u64,
    version: u64,
) -> Vec<u8> {
    let ip = match addr.ip() {
        IpAddr::V4(ip) => format!("IP4 {ip}"),
        IpAddr::V6(ip) => format!("IP6 {ip}"),
    };
    let mut pts: Vec<String> = codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .collect();
    let mut lines = vec![
        "v=0".to_owned(),
        format!("o=callrec {session} {version} IN {ip}"),
        "s=callrec".to_owned(),
        format!("c=IN {ip}"),
        "t=0 0".to_owned(),
    ];
    if let Some(pt) = telephone_event {
        pts.push(pt.to_string());
    }
    if comfort_noise {
        pts.push(COMFORT_NOISE.to_string());
    }
    lines.push(format!("m=audio {} RTP/AVP {}", addr.port(), pts.join(" ")));
    for codec in codecs {
        lines.push(format!(
            "a=rtpmap:{} {}",
            codec.payload_type(),
            codec.rtpmap()
        ));
    }
    if let Some(pt) = telephone_event {
        lines.push(format!("a=rtpmap:{pt} telephone-event/8000"));
        lines.push(format!("a=fmtp:{pt} 0-16"));
    }
    if comfort_noise {
        lines.push(format!("a=rtpmap:{COMFORT_NOISE} CN/8000"));
    }
    lines.push("a=ptime:20".to_owned());
    lines.push(format!("a={}", direction.attribute()));
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text.into_bytes()
}

/// Reads the first audio stream of a peer's session description.
pub fn parse(sdp: &[u8]) -> Result<Audio> {
    let session = sdp_types::Session::parse(sdp).map_err(|e| SipError::BadSdp(e.to_string()))?;
    let (index, media) = session
        .medias
        .iter()
        .enumerate()
        .find(|(_, m)| m.media == "audio" && m.port != 0)
        .ok_or_else(|| SipError::BadSdp("no audio stream (m=audio)".into()))?;
    let refused = session
        .medias
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != index)
        .map(|(i, m)| (i, format!("m={} 0 {} {}", m.media, m.proto, m.fmt)))
        .collect();
    let connection = media
        .connections
        .first()
        .or(session.connection.as_ref())
        .ok_or_else(|| SipError::BadSdp("no connection address (c=)".into()))?;
    let ip: IpAddr = connection
        .connection_address
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| {
            SipError::BadSdp(format!(
                "connection address {:?} is not an IP address",
                connection.connection_address
            ))
        })?;
    let pts: Vec<u8> = media
        .fmt
        .split_whitespace()
        .filter_map(|pt| pt.parse().ok())
        .collect();
    let rtpmaps: Vec<(u8, String)> = media
        .attributes
        .iter()
        .filter(|a| a.attribute == "rtpmap")
        .filter_map(|a| {
            let (pt, encoding) = a.value.as_deref()?.split_once(' ')?;
            Some((pt.parse().ok()?, encoding.to_ascii_lowercase()))
        })
        .collect();
    let named = |pt: u8| {
        rtpmaps
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, e)| e.as_str())
    };
    let codecs = pts
        .iter()
        .filter_map(|&pt| match named(pt) {
            Some(e) if e.starts_with("pcmu/8000") => Some(Codec::Pcmu),
            Some(e) if e.starts_with("pcma/8000") => Some(Codec::Pcma),
            Some(e) if e.starts_with("opus/48000") => Some(Codec::Opus(pt)),
            Some(_) => None,
            // Static payload types need no rtpmap.
            None => Codec::from_payload_type(pt),
        })
        .collect();
    let telephone_event = pts
        .iter()
        .copied()
        .find(|&pt| named(pt).is_some_and(|e| e.starts_with("telephone-event/8000")));
    let comfort_noise = pts.iter().any(|&pt| match named(pt) {
        Some(e) => e.starts_with("cn/8000"),
        None => pt == COMFORT_NOISE,
    });
    let has = |name: &str| {
        media.attributes.iter().any(|a| a.attribute == name)
            || session.attributes.iter().any(|a| a.attribute == name)
    };
    let direction = if has("inactive") {
        Direction::Inactive
    } else if has("sendonly") {
        Direction::SendOnly
    } else if has("recvonly") {
        Direction::RecvOnly
    } else {
        Direction::SendRecv
    };
    // An old-style hold (RFC 2543): c=0.0.0.0.
    let direction = if ip.is_unspecified() {
        Direction::Inactive
    } else {
        direction
    };
    Ok(Audio {
        addr: SocketAddr::new(ip, media.port),
        codecs,
        telephone_event,
        comfort_noise,
        direction,
        offered: media.fmt.clone(),
        index,
        refused,
    })
}

/// The answer to `offer`: callrec's audio stream (as [`describe`] writes it) in the offer's
/// audio place, and every other stream of the offer refused (port 0), in order.
pub fn describe_answer(
    addr: SocketAddr,
    agreed: &Agreed,
    offer: &Audio,
    session: u64,
    version: u64,
) -> Vec<u8> {
    let ours = describe(
        addr,
        &[agreed.codec],
        agreed.direction,
        agreed.telephone_event,
        agreed.comfort_noise,
        session,
        version,
    );
    if offer.refused.is_empty() {
        return ours;
    }
    let text = String::from_utf8_lossy(&ours);
    let (head, audio) = text.split_at(text.find("m=audio").unwrap_or(text.len()));
    let mut answer = head.to_owned();
    let streams = offer.refused.len() + 1;
    for i in 0..streams {
        match offer.refused.iter().find(|(at, _)| *at == i) {
            Some((_, line)) => {
                answer.push_str(line);
                answer.push_str("\r\n");
            }
            None => answer.push_str(audio),
        }
    }
    answer.into_bytes()
}

/// What a call's audio uses once offer and answer agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The codec both send.
    pub codec: Codec,
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// The peer's telephone-event payload type, when both support DTMF events.
    pub telephone_event: Option<u8>,
    /// Whether both take comfort noise (RFC 3389).
    pub comfort_noise: bool,
    /// Which way media flows, from callrec's point of view.
    pub direction: Direction,
}

impl Agreed {
    /// Voice only, both ways, in `codec` to `remote`: no keypad events, no comfort noise.
    pub fn plain(codec: Codec, remote: SocketAddr) -> Self {
        Self {
            codec,
            remote,
            telephone_event: None,
            comfort_noise: false,
            direction: Direction::SendRecv,
        }
    }
}

/// Agrees on a peer's offer: its most preferred codec that callrec speaks.
pub fn accept_offer(offer: &Audio) -> Result<Agreed> {
    let codec = offer
        .codecs
        .first()
        .copied()
        .ok_or_else(|| SipError::NoCommonCodec {
            offered: offer.offered.clone(),
        })?;
    // Keypad events and comfort noise run on the audio's clock: callrec speaks them at
    // 8 kHz, so not on an Opus call (48 kHz).
    let narrowband = !matches!(codec, Codec::Opus(_));
    Ok(Agreed {
        codec,
        remote: offer.addr,
        telephone_event: offer.telephone_event.filter(|_| narrowband),
        comfort_noise: offer.comfort_noise && narrowband,
        direction: offer.direction.answer(),
    })
}

/// Reads a peer's answer to callrec's offer: the codec it chose (the first it lists).
pub fn accept_answer(answer: &Audio) -> Result<Agreed> {
    accept_offer(answer).map(|agreed| Agreed {
        direction: answer.direction.answer(),
        ..agreed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARESIP_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 20004 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=ptime:20\r\n";

    #[test]
    fn an_offer_with_video_is_answered_with_every_m_line_in_order_video_refused() {
        let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
            m=video 30000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
            m=audio 20004 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
        let audio = parse(offer.as_bytes()).expect("parse");
        assert_eq!(audio.index, 1);
        assert_eq!(audio.addr.port(), 20004);
        let agreed = accept_offer(&audio).expect("agreed");
        let local: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let answer =
            String::from_utf8(describe_answer(local, &agreed, &audio, 7, 1)).expect("utf8");
        let m_lines: Vec<&str> = answer.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(
            m_lines,
            ["m=video 0 RTP/AVP 96", "m=audio 40000 RTP/AVP 0 101"],
            "{answer}"
        );
        // Our own answer reads back: the audio stream is the second, accepted.
        let back = parse(answer.as_bytes()).expect("parse the answer");
        assert_eq!((back.index, back.addr), (1, local));
    }

    #[test]
    fn our_offer_reads_back_as_what_it_offers() {
        let addr: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let sdp = describe(
            addr,
            &[Codec::Pcmu, Codec::Pcma],
            Direction::SendRecv,
            Some(101),
            true,
            7,
            1,
        );
        let text = String::from_utf8(sdp.clone()).expect("utf8");
        assert!(
            text.contains("m=audio 40000 RTP/AVP 0 8 101 13\r\n"),
            "{text}"
        );
        assert!(text.contains("a=rtpmap:13 CN/8000\r\n"), "{text}");
        assert!(text.ends_with("a=sendrecv\r\n"));
        let audio = parse(&sdp).expect("parse");
        assert_eq!(audio.addr, addr);
        assert_eq!(audio.codecs, vec![Codec::Pcmu, Codec::Pcma]);
        assert_eq!(audio.telephone_event, Some(101));
        assert!(audio.comfort_noise);
        assert_eq!(audio.direction, Direction::SendRecv);
    }

    #[test]
    fn comfort_noise_is_answered_only_when_offered() {
        let local: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let without = parse(BARESIP_OFFER.as_bytes()).expect("parse");
        let answer = describe_answer(local, &accept_offer(&without).expect("ok"), &without, 1, 1);
        assert!(!String::from_utf8_lossy(&answer).contains("CN/8000"));
        let with = BARESIP_OFFER
            .replace("RTP/AVP 8 0 101", "RTP/AVP 8 0 101 13")
            .replace("a=sendrecv", "a=rtpmap:13 CN/8000\r\na=sendrecv");
        let with = parse(with.as_bytes()).expect("parse");
        assert!(with.comfort_noise);
        let answer = describe_answer(local, &accept_offer(&with).expect("ok"), &with, 1, 1);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        assert!(
            answer.contains("m=audio 40000 RTP/AVP 8 101 13\r\n"),
            "{answer}"
        );
    }

    #[test]
    fn a_peers_offer_is_accepted_in_its_preference_order() {
        let offer = parse(BARESIP_OFFER.as_bytes()).expect("parse");
        let agreed = accept_offer(&offer).expect("agreed");
        assert_eq!(agreed.codec, Codec::Pcma);
        assert_eq!(agreed.remote, "127.0.0.1:20004".parse().expect("addr"));
        assert_eq!(agreed.telephone_event, Some(101));
    }

    #[test]
    fn an_opus_only_offer_is_answered_in_opus_without_8_khz_events() {
        let offer = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
            m=audio 5004 RTP/AVP 96 101 13\r\na=rtpmap:96 opus/48000/2\r\n\
            a=rtpmap:101 telephone-event/8000\r\na=rtpmap:13 CN/8000\r\n";
        let offer = parse(offer.as_bytes()).expect("parse");
        let agreed = accept_offer(&offer).expect("opus");
        assert_eq!(agreed.codec, Codec::Opus(96));
        assert_eq!(
            (agreed.telephone_event, agreed.comfort_noise),
            (None, false)
        );
        let local: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let answer = describe_answer(local, &agreed, &offer, 1, 1);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        assert!(answer.contains("m=audio 40000 RTP/AVP 96\r\n"), "{answer}");
        assert!(answer.contains("a=rtpmap:96 opus/48000/2\r\n"), "{answer}");
    }

    #[test]
    fn hold_and_direction_are_read_from_either_convention() {
        let hold = BARESIP_OFFER.replace("a=sendrecv", "a=sendonly");
        let offer = parse(hold.as_bytes()).expect("parse");
        assert_eq!(offer.direction, Direction::SendOnly);
        assert_eq!(
            accept_offer(&offer).expect("ok").direction,
            Direction::RecvOnly
        );
        let old = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
        assert_eq!(
            parse(old.as_bytes()).expect("parse").direction,
            Direction::Inactive
        );
    }

    #[test]
    fn an_offer_callrec_cannot_speak_is_refused_with_what_was_offered() {
        let g729 = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
            m=audio 5004 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
        let err = accept_offer(&parse(g729.as_bytes()).expect("parse")).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "the peer offers no codec callrec speaks (offered: 18; callrec speaks PCMU, PCMA and Opus)"
        );
        let garbage = parse(b"hello").expect_err("bad");
        assert!(
            garbage
                .to_string()
                .starts_with("the peer's SDP is not valid"),
            "{garbage}"
        );
        let video = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 5004 RTP/AVP 96\r\n";
        assert!(
            parse(video.as_bytes())
                .expect_err("no audio")
                .to_string()
                .contains("m=audio")
        );
    }
}
