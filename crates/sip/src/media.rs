//! One RTP leg: the agent's audio sent as G.711 every 20 ms, the peer's received into the
//! jitter buffer, both available to the recorder as [`Source`]s on the call's clock.
//!
//! What the recorder gets for the agent side is exactly what was sent (the same frames, taken
//! from the sender); for the remote side, exactly what the agent hears (the jitter buffer's
//! output at its playout time). RTP is symmetric: once the peer's packets arrive from an
//! address other than its SDP said (a NAT), callrec sends there.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callrec_audio::{Read, Source};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::dtmf::{self, Slot};
use crate::error::{Result, SipError};
use crate::g711::{Codec, FRAME, RATE};
use crate::jitter::{JitterBuffer, JitterStats};
use crate::sdp::Agreed;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A UDP socket for a leg's RTP, bound before the offer (its port goes into the SDP).
pub async fn bind_rtp(ip: std::net::IpAddr) -> Result<UdpSocket> {
    UdpSocket::bind(SocketAddr::new(ip, 0))
        .await
        .map_err(|source| SipError::Io {
            what: format!("binding an RTP port on {ip}"),
            source,
        })
}

/// The call's clock: t = 0 is the moment the call was answered.
#[derive(Debug, Clone, Copy)]
pub struct CallClock(Instant);

impl CallClock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self(Instant::now())
    }

    /// Time since the answer.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// What a leg did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegStats {
    /// RTP packets sent.
    pub sent: u64,
    /// RTP packets received with the agreed codec.
    pub received: u64,
    /// Packets that were not RTP or not of the agreed codec (ignored).
    pub ignored: u64,
    /// The jitter buffer's story.
    pub jitter: JitterStats,
}

/// A running leg; stops when dropped.
pub struct Leg {
    cancel: CancellationToken,
    jitter: Arc<Mutex<JitterBuffer>>,
    stats: Arc<Mutex<LegStats>>,
    dtmf: Arc<Mutex<dtmf::Sender>>,
    digits: Arc<Mutex<String>>,
    telephone_event: Option<u8>,
}

/// What a leg's sender and receiver share.
#[derive(Clone)]
struct Shared {
    socket: Arc<UdpSocket>,
    codec: Codec,
    clock: CallClock,
    /// Where RTP goes (the SDP's address until the peer's packets show another).
    target: Arc<Mutex<SocketAddr>>,
    stats: Arc<Mutex<LegStats>>,
    /// The telephone-event payload type, if agreed.
    dtmf_pt: Option<u8>,
    /// Digits waiting to be sent.
    dtmf_out: Arc<Mutex<dtmf::Sender>>,
    /// Digits the peer sent.
    dtmf_in: Arc<Mutex<String>>,
    cancel: CancellationToken,
}

impl Leg {
    /// Starts sending `agent` (read at 8 kHz, paced by `clock`) to the peer and receiving
    /// the peer on `socket`. Returns the leg and the two sources for the recorder, both at
    /// 8 kHz: what was sent, and what was heard.
    pub fn start(
        socket: UdpSocket,
        agreed: Agreed,
        agent: Box<dyn Source>,
        clock: CallClock,
    ) -> (Self, Box<dyn Source>, Box<dyn Source>) {
        Self::start_with(
            socket,
            agreed,
            agent,
            clock,
            Arc::new(AtomicBool::new(true)),
        )
    }

    /// [`Leg::start`], sending only while `sending` is set (cleared while the peer holds the
    /// call). While it is clear the agent's audio is neither sent nor recorded: the agent
    /// side is exactly what was sent, silence.
    pub fn start_with(
        socket: UdpSocket,
        agreed: Agreed,
        agent: Box<dyn Source>,
        clock: CallClock,
        sending: Arc<AtomicBool>,
    ) -> (Self, Box<dyn Source>, Box<dyn Source>) {
        let cancel = CancellationToken::new();
        // Whatever arrived before the answer (early media, ringback) is not the call: played
        // now, it would put the remote side seconds behind for the whole call.
        let mut scratch = [0u8; 2048];
        let mut early = 0u32;
        while socket.try_recv_from(&mut scratch).is_ok() {
            early += 1;
        }
        if early > 0 {
            tracing::debug!(
                packets = early,
                "dropped RTP that arrived before the answer"
            );
        }
        let socket = Arc::new(socket);
        let target = Arc::new(Mutex::new(agreed.remote));
        let jitter = Arc::new(Mutex::new(JitterBuffer::new(RATE)));
        let stats = Arc::new(Mutex::new(LegStats::default()));
        let sent = Arc::new(Mutex::new(VecDeque::new()));
        let shared = Shared {
            socket,
            codec: agreed.codec,
            clock,
            target,
            stats: Arc::clone(&stats),
            dtmf_pt: agreed.telephone_event,
            dtmf_out: Arc::new(Mutex::new(dtmf::Sender::default())),
            dtmf_in: Arc::new(Mutex::new(String::new())),
            cancel: cancel.clone(),
        };
        let (dtmf_sender, digits) = (Arc::clone(&shared.dtmf_out), Arc::clone(&shared.dtmf_in));
        tokio::spawn(send(shared.clone(), agent, Arc::clone(&sent), sending));
        tokio::spawn(receive(shared, Arc::clone(&jitter)));
        let heard = Heard {
            jitter: Arc::clone(&jitter),
            clock,
            emitted: 0,
        };
        (
            Self {
                cancel,
                jitter,
                stats,
                dtmf: dtmf_sender,
                digits,
                telephone_event: agreed.telephone_event,
            },
            Box::new(Sent { queue: sent }),
            Box::new(heard),
        )
    }

    /// Sends keypad digits (0-9, *, #, A-D) as RFC 4733 events, one after the other (each
    /// 200 ms: 100 ms of event, its end sent three times, a 60 ms gap). The agent's voice is
    /// not sent meanwhile, and the recording's agent side is silence: the digits are events,
    /// never tones in the audio.
    pub fn send_digits(&self, digits: &str) -> Result<()> {
        if self.telephone_event.is_none() {
            return Err(SipError::Signalling(
                "the peer did not agree to telephone-events (RFC 4733); digits cannot be sent"
                    .into(),
            ));
        }
        let rejected = lock(&self.dtmf).queue(digits);
        if rejected.is_empty() {
            Ok(())
        } else {
            Err(SipError::Signalling(format!(
                "{rejected:?} are not keypad symbols (0-9, *, #, A-D); the others were sent"
            )))
        }
    }

    /// The digits the peer has sent so far.
    pub fn received_digits(&self) -> String {
        lock(&self.digits).clone()
    }

    /// What the leg did so far.
    pub fn stats(&self) -> LegStats {
        let mut stats = *lock(&self.stats);
        stats.jitter = lock(&self.jitter).stats();
        stats
    }
}

impl Drop for Leg {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn send(
    shared: Shared,
    mut agent: Box<dyn Source>,
    sent: Arc<Mutex<VecDeque<f32>>>,
    sending: Arc<AtomicBool>,
) {
    let Shared {
        socket,
        codec,
        clock,
        target,
        stats,
        dtmf_pt,
        dtmf_out,
        cancel,
        ..
    } = shared;
    let ssrc: u32 = rand_u32();
    let mut seq: u16 = (ssrc >> 16) as u16;
    let ts0: u32 = ssrc.rotate_left(7);
    let mut frames_sent: u64 = 0;
    let mut pending: Vec<f32> = Vec::new();
    let mut buf = vec![0f32; FRAME];
    let mut ended = false;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut payload = Vec::with_capacity(FRAME);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Every frame due by the clock goes out; the source is read as it delivers (a file
        // at once, a microphone as it captures), silence once it has ended.
        let due = (clock.elapsed().as_secs_f64() * f64::from(RATE)) as u64 / FRAME as u64;
        while frames_sent < due {
            while pending.len() < FRAME && !ended {
                match agent.read(&mut buf) {
                    Ok(Read::Samples(n)) => pending.extend_from_slice(&buf[..n]),
                    Ok(Read::Pending) => break,
                    Ok(Read::End) | Err(_) => ended = true,
                }
            }
            if pending.len() < FRAME {
                if !ended && frames_sent + 1 >= due {
                    break; // a live source a little behind: wait for its samples
                }
                pending.resize(FRAME, 0.0);
            }
            let mut frame: Vec<f32> = pending.drain(..FRAME).collect();
            let slot = match dtmf_pt {
                Some(_) => lock(&dtmf_out).next_slot(),
                None => Slot::Voice,
            };
            if !sending.load(Ordering::Relaxed) || slot == Slot::Gap {
                // On hold, or between two digits: nothing goes out, and the recording's
                // agent side is silence.
                frame.fill(0.0);
                lock(&sent).extend(frame);
                frames_sent += 1;
                continue;
            }
            let now_ts = ts0.wrapping_add((frames_sent * FRAME as u64) as u32);
            payload.clear();
            let (pt, timestamp, marker) = match (slot, dtmf_pt) {
                (
                    Slot::Event {
                        event,
                        started,
                        marker,
                    },
                    Some(pt),
                ) => {
                    // A digit, not a tone: the recording's agent side is silence.
                    frame.fill(0.0);
                    payload.extend_from_slice(&event.to_bytes());
                    (pt, now_ts.wrapping_sub(started), marker)
                }
                _ => {
                    codec.encode(&frame, &mut payload);
                    (codec.payload_type(), now_ts, frames_sent == 0)
                }
            };
            let packet = rtp_types::RtpPacketBuilder::<&[u8], &[u8]>::new()
                .payload_type(pt)
                .sequence_number(seq)
                .timestamp(timestamp)
                .ssrc(ssrc)
                .marker_bit(marker)
                .payload(payload.as_slice())
                .write_vec();
            let to = *lock(&target);
            if let Ok(packet) = packet
                && socket.send_to(&packet, to).await.is_ok()
            {
                lock(&stats).sent += 1;
            }
            lock(&sent).extend(frame);
            seq = seq.wrapping_add(1);
            frames_sent += 1;
        }
    }
}

async fn receive(shared: Shared, jitter: Arc<Mutex<JitterBuffer>>) {
    let Shared {
        socket,
        codec,
        clock,
        target,
        stats,
        dtmf_pt,
        dtmf_in,
        cancel,
        ..
    } = shared;
    let mut digits = dtmf::Receiver::default();
    let mut buf = vec![0u8; 2048];
    let mut samples = Vec::with_capacity(FRAME);
    // The address the peer's RTP comes from, once seen; packets from elsewhere are strays.
    let mut latched: Option<SocketAddr> = None;
    loop {
        let (n, from) = tokio::select! {
            () = cancel.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "receiving RTP");
                    continue;
                }
            },
        };
        let arrival = clock.elapsed();
        let Ok(packet) = rtp_types::RtpPacket::parse(&buf[..n]) else {
            lock(&stats).ignored += 1;
            continue;
        };
        if Some(packet.payload_type()) == dtmf_pt {
            // The peer sends events instead of voice meanwhile: silence, not losses.
            if let Some(event) = dtmf::Event::parse(packet.payload()) {
                lock(&jitter).silence(
                    packet.timestamp(),
                    u32::from(event.duration).max(FRAME as u32),
                    FRAME,
                );
            }
            if let Some(digit) = digits.packet(packet.timestamp(), packet.payload()) {
                tracing::info!(%digit, "the peer sent a digit");
                lock(&dtmf_in).push(digit);
            }
            continue;
        }
        // Either G.711 law is decoded: callrec offered both, and a peer may switch between
        // the codecs of an answer without a new offer (RFC 3264 5.1).
        let Some(law) = Codec::from_payload_type(packet.payload_type()) else {
            lock(&stats).ignored += 1;
            continue;
        };
        if law != codec {
            tracing::debug!(agreed = ?codec, sent = ?law, "the peer sends the other G.711 law");
        }
        match latched {
            Some(peer) if peer != from => {
                lock(&stats).ignored += 1;
                continue;
            }
            Some(_) => {}
            None => {
                // Symmetric RTP: answer where the peer really sends from.
                let mut to = lock(&target);
                if *to != from {
                    tracing::info!(sdp = %*to, actual = %from, "the peer sends RTP from another address; sending there");
                    *to = from;
                }
                latched = Some(from);
            }
        }
        samples.clear();
        law.decode(packet.payload(), &mut samples);
        lock(&jitter).push(packet.timestamp(), samples.clone(), arrival);
        lock(&stats).received += 1;
    }
}

/// A 32-bit value that differs between calls (SSRC, first sequence number and timestamp
/// must be unpredictable per RFC 3550; they need not be cryptographic).
fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u32
}

/// The agent side for the recorder: exactly the frames sent.
struct Sent {
    queue: Arc<Mutex<VecDeque<f32>>>,
}

impl Source for Sent {
    fn rate(&self) -> u32 {
        RATE
    }

    fn read(&mut self, out: &mut [f32]) -> callrec_audio::Result<Read> {
        let mut queue = lock(&self.queue);
        let n = queue.len().min(out.len());
        if n == 0 {
            return Ok(Read::Pending);
        }
        for (o, s) in out.iter_mut().zip(queue.drain(..n)) {
            *o = s;
        }
        Ok(Read::Samples(n))
    }
}

/// The remote side for the recorder: what the jitter buffer plays, when it plays it; silence
/// on the clock before the peer's first frame plays (a peer that never sends must not stall
/// the recording).
struct Heard {
    jitter: Arc<Mutex<JitterBuffer>>,
    clock: CallClock,
    emitted: u64,
}

impl Source for Heard {
    fn rate(&self) -> u32 {
        RATE
    }

    fn read(&mut self, out: &mut [f32]) -> callrec_audio::Result<Read> {
        let now = self.clock.elapsed();
        let mut jitter = lock(&self.jitter);
        let mut n = jitter.pull(now, out);
        if n == 0 && !jitter.is_playing() {
            let due = (now.as_secs_f64() * f64::from(RATE)) as u64;
            n = usize::try_from(due.saturating_sub(self.emitted))
                .unwrap_or(usize::MAX)
                .min(out.len());
            out[..n].fill(0.0);
        }
        self.emitted += n as u64;
        Ok(if n == 0 {
            Read::Pending
        } else {
            Read::Samples(n)
        })
    }
}
