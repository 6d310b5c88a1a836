//! A call's media: one [`Bridge`] per call mixes the agent and every RTP leg on the call's
//! clock, 20 ms at a time.
//!
//! Each frame, the bridge takes one frame of the agent's microphone and one frame from each
//! leg's jitter buffer (what the agent hears of that party), and sends each leg the agent plus
//! every *other* leg: in a conference everybody hears everybody, and nobody hears themselves.
//!
//! The recorder gets, as [`Source`]s on the same clock:
//! - the agent side: exactly the agent's frames that went out as voice (silence while muted,
//!   held, or sending digits);
//! - each leg's remote side: exactly what the agent heard of that party, frame for frame, from
//!   the frame the leg joined (silence before its first packet plays, and after it leaves).
//!
//! The number of samples each side delivers is tied to the clock (160 per 20 ms frame), so
//! no side drifts when a jitter buffer grows or shrinks its delay. RTP is symmetric: once a
//! peer's packets arrive from an address other than its SDP said (a NAT), callrec sends there.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use callrec_audio::{Read, Source};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::dtmf::{self, Slot};
use crate::error::{Result, SipError};
use crate::g711::{Codec, FRAME, RATE};
use crate::jitter::{JitterBuffer, JitterStats};
use crate::rtcp::{PeerReport, Reception, Sending};
use crate::sdp::Agreed;
use crate::voice::{Decoder, Encoder};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A frame's length.
const FRAME_TIME: Duration = Duration::from_millis(20);
/// How far past a frame's end its party's samples may be taken: ticks and the peer's frames
/// are not in phase, and ticks run late under load.
const SLACK: Duration = Duration::from_millis(10);

/// A UDP socket for a leg's RTP, bound before the offer (its port goes into the SDP).
pub async fn bind_rtp(ip: std::net::IpAddr) -> Result<UdpSocket> {
    UdpSocket::bind(SocketAddr::new(ip, 0))
        .await
        .map_err(|source| SipError::Io {
            what: format!("binding an RTP port on {ip}"),
            source,
        })
}

/// A leg's ports: RTP, and RTCP on the port above it (RFC 3550 11) when it could be had.
pub struct RtpPorts {
    /// The RTP socket (its port goes into the SDP).
    pub rtp: UdpSocket,
    /// The RTCP socket, one port up.
    pub rtcp: Option<UdpSocket>,
}

impl From<UdpSocket> for RtpPorts {
    fn from(rtp: UdpSocket) -> Self {
        Self { rtp, rtcp: None }
    }
}

/// An even RTP port and the RTCP port above it on `ip`, bound before the offer. When no
/// pair comes free in a few tries, RTP alone (the call works; it goes without reports).
pub async fn bind_media(ip: std::net::IpAddr) -> Result<RtpPorts> {
    for _ in 0..16 {
        let rtp = bind_rtp(ip).await?;
        let port = rtp.local_addr().map_or(1, |a| a.port());
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
            return Ok(RtpPorts {
                rtp,
                rtcp: Some(rtcp),
            });
        }
    }
    tracing::info!(%ip, "no free RTP/RTCP port pair; the call goes without RTCP reports");
    bind_rtp(ip).await.map(RtpPorts::from)
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
    /// What the peer's last RTCP report said of callrec's stream.
    pub peer: Option<PeerReport>,
}

/// What signalling tells a leg about its peer as the call goes on.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Cleared while the peer holds the call (nothing is sent to it meanwhile).
    pub listens: Arc<AtomicBool>,
    /// A new RTP address the peer gave in a re-offer, not yet taken by the leg.
    pub moved: Arc<Mutex<Option<SocketAddr>>>,
}

impl Default for Peer {
    fn default() -> Self {
        Self {
            listens: Arc::new(AtomicBool::new(true)),
            moved: Arc::default(),
        }
    }
}

/// Samples handed from the bridge to a reader (the recorder, the headset).
type Queue = Arc<Mutex<VecDeque<f32>>>;

/// A call's mixer: the agent and its legs on one clock. Stops when dropped.
pub struct Bridge {
    mix: Arc<Mutex<Mix>>,
    cancel: CancellationToken,
}

struct Mix {
    clock: CallClock,
    agent: Box<dyn Source>,
    pending: Vec<f32>,
    agent_ended: bool,
    muted: bool,
    /// Frames produced so far (frame `k` covers `[k, k+1) × 20 ms` of the call clock).
    frames: u64,
    legs: Vec<Party>,
    next_id: u64,
    /// The recorder's agent side; nothing is kept once its reader is gone.
    sent: Weak<Mutex<VecDeque<f32>>>,
    headset: Weak<Mutex<VecDeque<f32>>>,
    scratch: Vec<f32>,
    payload: Vec<u8>,
}

/// A leg's place in the mix; `io` is `None` once it has left (it is silence from then on).
struct Party {
    id: u64,
    io: Option<LegIo>,
    heard: Weak<Mutex<VecDeque<f32>>>,
    /// Samples played out by the jitter buffer, not yet mixed.
    ready: VecDeque<f32>,
    frame: Vec<f32>,
}

/// What a leg's sending side needs.
struct LegIo {
    socket: Arc<UdpSocket>,
    encoder: Encoder,
    /// What was sent, for the RTCP sender reports.
    sending: Arc<Mutex<Sending>>,
    target: Arc<Mutex<SocketAddr>>,
    jitter: Arc<Mutex<JitterBuffer>>,
    dtmf_pt: Option<u8>,
    dtmf_out: Arc<Mutex<dtmf::Sender>>,
    /// What signalling says of the peer.
    peer: Peer,
    /// Set when the peer moved: the receiver latches onto its new address.
    relatch: Arc<AtomicBool>,
    /// Set while the agent holds this leg.
    held: Arc<AtomicBool>,
    ssrc: u32,
    seq: u16,
    ts0: u32,
    /// Frames since the leg joined (its RTP timestamps count from there).
    frames: u64,
}

/// A leg in a bridge: its controls and figures. The leg leaves the bridge when dropped.
pub struct LegHandle {
    id: u64,
    mix: Weak<Mutex<Mix>>,
    jitter: Arc<Mutex<JitterBuffer>>,
    stats: Arc<Mutex<LegStats>>,
    dtmf: Arc<Mutex<dtmf::Sender>>,
    digits: Arc<Mutex<String>>,
    held: Arc<AtomicBool>,
    telephone_event: Option<u8>,
    peer_report: Arc<Mutex<Option<PeerReport>>>,
    /// What was sent (the RTCP sender reports' counts, and the figures').
    sending: Arc<Mutex<Sending>>,
    receiving: CancellationToken,
}

/// A leg just added to a bridge.
pub struct Joined {
    /// Its controls.
    pub leg: LegHandle,
    /// What the agent hears of this party, from `at_ms` on (8 kHz).
    pub heard: Box<dyn Source>,
    /// The call-clock instant of its first sample: the moment the party joined.
    pub at_ms: u64,
}

impl Bridge {
    /// Starts mixing on `clock`, `agent` read at 8 kHz as it delivers (a file at once, a
    /// microphone as it captures; silence once it ends). Returns the bridge and the recorder's
    /// agent side (exactly what was sent as voice).
    pub fn start(agent: Box<dyn Source>, clock: CallClock) -> (Self, Box<dyn Source>) {
        let sent: Queue = Arc::default();
        let mix = Arc::new(Mutex::new(Mix {
            clock,
            agent,
            pending: Vec::new(),
            agent_ended: false,
            muted: false,
            frames: 0,
            legs: Vec::new(),
            next_id: 0,
            sent: Arc::downgrade(&sent),
            headset: Weak::new(),
            scratch: vec![0.0; 2048],
            payload: Vec::with_capacity(FRAME),
        }));
        let cancel = CancellationToken::new();
        tokio::spawn(run(Arc::clone(&mix), cancel.clone()));
        (Self { mix, cancel }, Box::new(Queued(sent)))
    }

    /// Adds a party: sends it the mix on `socket` and receives it into its own jitter buffer.
    /// `peer` follows the signalling: nothing is sent while the peer holds the call, and a
    /// new address from a re-offer is sent to from the next frame on.
    /// Its RTCP port (if `ports` has one) reports and reads reports every 5 s.
    pub fn add_leg(&self, ports: impl Into<RtpPorts>, agreed: Agreed, peer: Peer) -> Joined {
        let RtpPorts { rtp: socket, rtcp } = ports.into();
        // Whatever arrived before the answer (early media, ringback) is not the call: played
        // now, it would put the party seconds behind for the whole call.
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
        let dtmf_out = Arc::new(Mutex::new(dtmf::Sender::default()));
        let digits = Arc::new(Mutex::new(String::new()));
        let held = Arc::new(AtomicBool::new(false));
        let receiving = self.cancel.child_token();
        let relatch = Arc::new(AtomicBool::new(false));
        let heard: Queue = Arc::default();
        let ssrc = rand_u32();
        let reception = Arc::new(Mutex::new(Reception::default()));
        let sending = Arc::new(Mutex::new(Sending::default()));
        let peer_report = Arc::new(Mutex::new(None));
        if let Some(rtcp) = rtcp {
            tokio::spawn(crate::rtcp::run(crate::rtcp::Rtcp {
                socket: rtcp,
                ssrc,
                rtp_target: Arc::clone(&target),
                reception: Arc::clone(&reception),
                sending: Arc::clone(&sending),
                peer: Arc::clone(&peer_report),
                clock: agreed.codec.clock_rate(),
                cancel: receiving.clone(),
            }));
        }
        let mut mix = lock(&self.mix);
        let clock = mix.clock;
        tokio::spawn(receive(Receiving {
            socket: Arc::clone(&socket),
            clock,
            target: Arc::clone(&target),
            stats: Arc::clone(&stats),
            jitter: Arc::clone(&jitter),
            dtmf_pt: agreed.telephone_event,
            decoder: Decoder::new(agreed.codec),
            comfort_noise: agreed.comfort_noise,
            reception,
            clock_rate: agreed.codec.clock_rate(),
            digits: Arc::clone(&digits),
            relatch: Arc::clone(&relatch),
            cancel: receiving.clone(),
        }));
        let id = mix.next_id;
        mix.next_id += 1;
        let at_ms = mix.frames * FRAME_TIME.as_millis() as u64;
        mix.legs.push(Party {
            id,
            io: Some(LegIo {
                socket,
                encoder: Encoder::new(agreed.codec),
                sending: Arc::clone(&sending),
                target,
                jitter: Arc::clone(&jitter),
                dtmf_pt: agreed.telephone_event,
                dtmf_out: Arc::clone(&dtmf_out),
                peer,
                relatch,
                held: Arc::clone(&held),
                ssrc,
                seq: (ssrc >> 16) as u16,
                ts0: ssrc.rotate_left(7),
                frames: 0,
            }),
            heard: Arc::downgrade(&heard),
            ready: VecDeque::new(),
            frame: vec![0.0; FRAME],
        });
        drop(mix);
        Joined {
            leg: LegHandle {
                id,
                mix: Arc::downgrade(&self.mix),
                jitter,
                stats,
                dtmf: dtmf_out,
                digits,
                held,
                telephone_event: agreed.telephone_event,
                peer_report,
                sending,
                receiving,
            },
            heard: Box::new(Queued(heard)),
            at_ms,
        }
    }

    /// Mutes the agent's microphone (nothing of it is sent, and the recording's agent side
    /// is silence) or unmutes it. The remote sides are recorded as before: mute is not pause.
    pub fn set_muted(&self, muted: bool) {
        lock(&self.mix).muted = muted;
    }

    /// Whether the microphone is muted.
    pub fn muted(&self) -> bool {
        lock(&self.mix).muted
    }

    /// Every party mixed, as the agent's headset plays it (8 kHz), from now on.
    pub fn headset(&self) -> Box<dyn Source> {
        let queue: Queue = Arc::default();
        lock(&self.mix).headset = Arc::downgrade(&queue);
        Box::new(Queued(queue))
    }

    /// The call clock.
    pub fn clock(&self) -> CallClock {
        lock(&self.mix).clock
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl LegHandle {
    /// Sends keypad digits (0-9, *, #, A-D) as RFC 4733 events, one after the other (each
    /// 200 ms: 100 ms of event, its end sent three times, a 60 ms gap). The agent's voice is
    /// not sent to this party meanwhile: the digits are events, never tones in the audio.
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

    /// Whether the agent holds this party.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// Holds this party (nothing is sent to it) or resumes it. Signalling the hold to the
    /// peer is the caller's (a re-INVITE).
    pub fn set_held(&self, held: bool) {
        self.held.store(held, Ordering::Relaxed);
    }

    /// What the leg did so far.
    pub fn stats(&self) -> LegStats {
        let mut stats = *lock(&self.stats);
        stats.jitter = lock(&self.jitter).stats();
        stats.peer = *lock(&self.peer_report);
        stats.sent = lock(&self.sending).packets;
        stats
    }

    /// Takes the party out of the mix; returns the call-clock instant from which it is
    /// silence (the moment it left).
    pub fn leave(self) -> u64 {
        self.remove().unwrap_or_else(|| self.clock_ms())
    }

    fn clock_ms(&self) -> u64 {
        self.mix.upgrade().map_or(0, |mix| {
            u64::try_from(lock(&mix).clock.elapsed().as_millis()).unwrap_or(u64::MAX)
        })
    }

    /// Removes the leg from its bridge; the instant it left, if the bridge still runs.
    fn remove(&self) -> Option<u64> {
        self.receiving.cancel();
        let mix = self.mix.upgrade()?;
        let mut mix = lock(&mix);
        for slot in &mut mix.legs {
            if slot.id == self.id {
                slot.io = None;
                slot.ready.clear();
            }
        }
        Some(mix.frames * FRAME_TIME.as_millis() as u64)
    }
}

impl Drop for LegHandle {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

/// One RTP leg with its own bridge: a two-party call.
pub struct Leg {
    leg: LegHandle,
    _bridge: Bridge,
}

impl Leg {
    /// Starts sending `agent` (read at 8 kHz, paced by `clock`) to the peer and receiving
    /// the peer on `socket` (RTP, or RTP and RTCP). Returns the leg and the two sources for
    /// the recorder, both at 8 kHz: what was sent, and what was heard.
    pub fn start(
        socket: impl Into<RtpPorts>,
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
        socket: impl Into<RtpPorts>,
        agreed: Agreed,
        agent: Box<dyn Source>,
        clock: CallClock,
        sending: Arc<AtomicBool>,
    ) -> (Self, Box<dyn Source>, Box<dyn Source>) {
        let (bridge, sent) = Bridge::start(agent, clock);
        let peer = Peer {
            listens: sending,
            ..Peer::default()
        };
        let joined = bridge.add_leg(socket, agreed, peer);
        (
            Self {
                leg: joined.leg,
                _bridge: bridge,
            },
            sent,
            joined.heard,
        )
    }

    /// See [`LegHandle::send_digits`].
    pub fn send_digits(&self, digits: &str) -> Result<()> {
        self.leg.send_digits(digits)
    }

    /// The digits the peer has sent so far.
    pub fn received_digits(&self) -> String {
        self.leg.received_digits()
    }

    /// What the leg did so far.
    pub fn stats(&self) -> LegStats {
        self.leg.stats()
    }
}

/// The bridge's task: every 20 ms, the frames the clock says are due.
async fn run(mix: Arc<Mutex<Mix>>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(FRAME_TIME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        lock(&mix).tick();
    }
}

impl Mix {
    fn tick(&mut self) {
        let now = self.clock.elapsed();
        let due = (now.as_secs_f64() * f64::from(RATE)) as u64 / FRAME as u64;
        while self.frames < due {
            while self.pending.len() < FRAME && !self.agent_ended {
                match self.agent.read(&mut self.scratch) {
                    Ok(Read::Samples(n)) => self.pending.extend_from_slice(&self.scratch[..n]),
                    Ok(Read::Pending) => break,
                    Ok(Read::End) | Err(_) => self.agent_ended = true,
                }
            }
            if self.pending.len() < FRAME {
                if !self.agent_ended && self.frames + 1 >= due {
                    break; // a live source a little behind: wait for its samples
                }
                self.pending.resize(FRAME, 0.0);
            }
            self.frame();
        }
    }

    /// Mixes and sends one frame; hands every side's frame to its reader.
    fn frame(&mut self) {
        // Fixed-size frames on the stack: nothing is allocated per frame.
        let mut agent = [0f32; FRAME];
        agent.copy_from_slice(&self.pending[..FRAME]);
        self.pending.drain(..FRAME);
        let mut all = [0f32; FRAME];
        // Each party's frame is what its jitter buffer plays out by this frame's own end on
        // the clock (not by now: a tick that catches up several frames must not crowd the
        // stream into the first of them), with some slack for ticks and peers out of phase.
        let until = FRAME_TIME * u32::try_from(self.frames + 1).unwrap_or(u32::MAX) + SLACK;
        for slot in &mut self.legs {
            if let Some(io) = &slot.io {
                let mut jitter = lock(&io.jitter);
                while slot.ready.len() < FRAME {
                    let want = FRAME - slot.ready.len();
                    let n = jitter.pull(until, &mut self.scratch[..want]);
                    if n == 0 {
                        break;
                    }
                    slot.ready.extend(&self.scratch[..n]);
                }
            }
            let n = slot.ready.len().min(FRAME);
            for (f, s) in slot.frame.iter_mut().zip(slot.ready.drain(..n)) {
                *f = s;
            }
            slot.frame[n..].fill(0.0);
            if slot.io.is_some() {
                for (a, s) in all.iter_mut().zip(&slot.frame) {
                    *a += s;
                }
            }
        }
        let mut voice_sent = false;
        let mut out = [0f32; FRAME];
        for slot in &mut self.legs {
            let Some(io) = slot.io.as_mut() else { continue };
            for (i, o) in out.iter_mut().enumerate() {
                let agent = if self.muted { 0.0 } else { agent[i] };
                *o = (agent + all[i] - slot.frame[i]).clamp(-1.0, 1.0);
            }
            voice_sent |= io.send(&out, &mut self.payload) && !self.muted;
        }
        let silence = [0f32; FRAME];
        if let Some(sent) = self.sent.upgrade() {
            lock(&sent).extend(if voice_sent { &agent[..] } else { &silence[..] });
        }
        for slot in &self.legs {
            if let Some(heard) = slot.heard.upgrade() {
                lock(&heard).extend(&slot.frame);
            }
        }
        if let Some(headset) = self.headset.upgrade() {
            lock(&headset).extend(all.iter().map(|s| s.clamp(-1.0, 1.0)));
        }
        self.frames += 1;
    }
}

impl LegIo {
    /// Sends this frame (or the digit event due instead); returns whether voice went out.
    fn send(&mut self, frame: &[f32], payload: &mut Vec<u8>) -> bool {
        let slot = match self.dtmf_pt {
            Some(_) => lock(&self.dtmf_out).next_slot(),
            None => Slot::Voice,
        };
        if let Some(moved) = lock(&self.peer.moved).take() {
            tracing::info!(to = %moved, "the peer moved its RTP; sending there");
            *lock(&self.target) = moved;
            self.relatch.store(true, Ordering::Relaxed);
        }
        let listening =
            self.peer.listens.load(Ordering::Relaxed) && !self.held.load(Ordering::Relaxed);
        let frames = self.frames;
        self.frames += 1;
        if !listening {
            return false; // on hold: nothing goes out
        }
        let now_ts = self
            .ts0
            .wrapping_add((frames * u64::from(self.encoder.ticks_per_frame())) as u32);
        let silence = [0f32; FRAME];
        match (slot, self.dtmf_pt) {
            (
                Slot::Event {
                    event,
                    started,
                    marker,
                },
                Some(pt),
            ) => {
                payload.clear();
                payload.extend_from_slice(&event.to_bytes());
                self.packet(pt, now_ts.wrapping_sub(started), marker, payload);
                if event.end {
                    // The end is repeated after the event's time: the stream goes on with
                    // silence meanwhile, so the peer has no hole to conceal.
                    self.voice(&silence, now_ts, false, payload);
                }
                false
            }
            (Slot::Gap, _) => {
                // Between two digits: silence, not the agent's voice.
                self.voice(&silence, now_ts, false, payload);
                false
            }
            _ => {
                self.voice(frame, now_ts, frames == 0, payload);
                true
            }
        }
    }

    fn voice(&mut self, frame: &[f32], timestamp: u32, marker: bool, payload: &mut Vec<u8>) {
        payload.clear();
        if self.encoder.encode(frame, payload) {
            self.packet(self.encoder.payload_type(), timestamp, marker, payload);
        }
    }

    fn packet(&mut self, pt: u8, timestamp: u32, marker: bool, payload: &[u8]) {
        let packet = rtp_types::RtpPacketBuilder::<&[u8], &[u8]>::new()
            .payload_type(pt)
            .sequence_number(self.seq)
            .timestamp(timestamp)
            .ssrc(self.ssrc)
            .marker_bit(marker)
            .payload(payload)
            .write_vec();
        self.seq = self.seq.wrapping_add(1);
        let to = *lock(&self.target);
        // UDP sends do not block for long; a full socket buffer drops the packet, as the
        // network would.
        if let Ok(packet) = packet
            && self.socket.try_send_to(&packet, to).is_ok()
        {
            let mut sending = lock(&self.sending);
            sending.packets += 1;
            sending.octets += payload.len() as u64;
            // A keypad event carries its start, not now: the reports map voice's clock.
            if pt == self.encoder.payload_type() {
                sending.last = Some((timestamp, Instant::now()));
            }
        }
    }
}

/// What a leg's receiving task needs.
struct Receiving {
    socket: Arc<UdpSocket>,
    clock: CallClock,
    target: Arc<Mutex<SocketAddr>>,
    stats: Arc<Mutex<LegStats>>,
    jitter: Arc<Mutex<JitterBuffer>>,
    dtmf_pt: Option<u8>,
    decoder: Decoder,
    /// Whether comfort noise was agreed (else PT 13 is ignored).
    comfort_noise: bool,
    /// The peer's stream as RTCP reports it.
    reception: Arc<Mutex<Reception>>,
    clock_rate: u32,
    digits: Arc<Mutex<String>>,
    relatch: Arc<AtomicBool>,
    cancel: CancellationToken,
}

async fn receive(leg: Receiving) {
    let Receiving {
        socket,
        clock,
        target,
        stats,
        jitter,
        dtmf_pt,
        mut decoder,
        comfort_noise,
        reception,
        clock_rate,
        digits: dtmf_in,
        relatch,
        cancel,
    } = leg;
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
        let pt = packet.payload_type();
        let comfort = comfort_noise && pt == crate::sdp::COMFORT_NOISE;
        let event = Some(pt) == dtmf_pt;
        // The call's voice (on a G.711 call either law: a peer may switch between the codecs
        // of an answer without a new offer, RFC 3264 5.1), its comfort noise if agreed, or
        // its keypad events; anything else is ignored.
        if !(decoder.accepts(pt) || comfort || event) {
            lock(&stats).ignored += 1;
            continue;
        }
        if relatch.swap(false, Ordering::Relaxed) {
            latched = None; // the peer moved: its new address is the one to follow
        }
        match latched {
            Some(peer) if peer != from => {
                // A stray: it touches neither the decoder nor the figures.
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
        // What the RTCP reports count; a timestamp is a sampling instant only for voice.
        lock(&reception).packet(
            packet.ssrc(),
            packet.sequence_number(),
            packet.timestamp(),
            arrival,
            clock_rate,
            !(event || comfort),
        );
        if event {
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
        let buffered = buffer(
            &mut decoder,
            comfort_noise,
            &packet,
            arrival,
            &mut lock(&jitter),
            &mut samples,
        );
        // Not buffered: a packet the codec cannot read (a broken Opus frame).
        let mut stats = lock(&stats);
        if buffered {
            stats.received += 1;
        } else {
            stats.ignored += 1;
        }
    }
}

/// Puts a packet of the call's voice (decoded through `samples`), or its comfort noise when
/// agreed, into `jitter` at its `arrival`; false when it is neither, or unreadable.
fn buffer(
    decoder: &mut Decoder,
    comfort_noise: bool,
    packet: &rtp_types::RtpPacket<'_>,
    arrival: Duration,
    jitter: &mut JitterBuffer,
    samples: &mut Vec<f32>,
) -> bool {
    let (pt, ts) = (packet.payload_type(), packet.timestamp());
    if comfort_noise && pt == crate::sdp::COMFORT_NOISE {
        jitter.push_noise(ts, noise_level(packet.payload()), arrival);
        return true;
    }
    samples.clear();
    match decoder.decode(pt, ts, packet.payload(), samples) {
        Some(ts) => {
            jitter.push(ts, samples.clone(), arrival);
            true
        }
        None => false,
    }
}

/// The level a comfort-noise payload names (−dBov, its first byte); none: silence.
fn noise_level(payload: &[u8]) -> u8 {
    payload.first().map_or(127, |b| b & 0x7f)
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

/// Early media (RFC 3960): what a callee plays before it answers (a ringback tone, an
/// announcement), for the agent's headset only. It is never recorded (the recording starts
/// at the answer), and nothing goes back: the microphone is not sent before the answer.
pub struct EarlyMedia {
    queue: Queue,
    packets: std::sync::atomic::AtomicU64,
}

/// The most early media kept for a headset that does not read it (then the oldest goes).
const EARLY_KEPT: usize = RATE as usize;

impl EarlyMedia {
    /// Early media for one ringing call, and the headset's source of it (8 kHz; pending
    /// until the callee plays something).
    pub fn new() -> (Self, Box<dyn Source>) {
        let queue: Queue = Arc::default();
        let early = Self {
            queue: Arc::clone(&queue),
            packets: std::sync::atomic::AtomicU64::new(0),
        };
        (early, Box::new(Queued(queue)))
    }

    /// The RTP packets played so far.
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }

    /// Plays the RTP arriving on `socket` once a provisional answer's SDP (from `sdp`) says
    /// where it comes from, through a jitter buffer, until `sdp` closes (the ringing is
    /// over) or the future is dropped. Packets from other hosts are strays.
    pub async fn play(
        &self,
        socket: &UdpSocket,
        mut sdp: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        let clock = CallClock::start();
        let mut jitter = JitterBuffer::new(RATE);
        let mut from: Option<std::net::IpAddr> = None;
        let mut decoder: Option<(Codec, Decoder)> = None;
        let mut comfort = false;
        let mut tick = tokio::time::interval(FRAME_TIME);
        let mut buf = [0u8; 2048];
        let mut samples = Vec::with_capacity(FRAME);
        let mut frame = [0f32; FRAME];
        loop {
            tokio::select! {
                body = sdp.recv() => {
                    let Some(body) = body else { return };
                    match crate::sdp::parse(&body).and_then(|a| crate::sdp::accept_answer(&a)) {
                        Ok(agreed) => {
                            if from.is_none() {
                                tracing::info!(remote = %agreed.remote, codec = agreed.codec.name(), "the callee plays early media (heard, not recorded)");
                            }
                            if from.is_none() || decoder.as_ref().is_some_and(|(c, _)| *c != agreed.codec) {
                                decoder = Some((agreed.codec, Decoder::new(agreed.codec)));
                            }
                            comfort = agreed.comfort_noise;
                            from = Some(agreed.remote.ip());
                        }
                        Err(e) => tracing::info!(error = %e, "early media callrec cannot play"),
                    }
                }
                received = socket.recv_from(&mut buf), if from.is_some() => {
                    let Ok((n, peer)) = received else { continue };
                    if Some(peer.ip()) != from {
                        continue;
                    }
                    let Ok(packet) = rtp_types::RtpPacket::parse(&buf[..n]) else { continue };
                    let Some((_, decoder)) = decoder.as_mut() else { continue };
                    if !buffer(decoder, comfort, &packet, clock.elapsed(), &mut jitter, &mut samples) {
                        continue;
                    }
                    self.packets.fetch_add(1, Ordering::Relaxed);
                }
                _ = tick.tick(), if from.is_some() => {
                    let n = jitter.pull(clock.elapsed() + SLACK, &mut frame);
                    let mut queue = lock(&self.queue);
                    queue.extend(&frame[..n]);
                    let over = queue.len().saturating_sub(EARLY_KEPT);
                    queue.drain(..over);
                }
            }
        }
    }
}

/// A side handed over by the bridge, read as it comes (`Pending` until the next frame).
struct Queued(Queue);

impl Source for Queued {
    fn rate(&self) -> u32 {
        RATE
    }

    fn read(&mut self, out: &mut [f32]) -> callrec_audio::Result<Read> {
        let mut queue = lock(&self.0);
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
