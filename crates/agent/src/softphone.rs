//! The softphone as the Session's call source: calls placed and answered over SIP, each party
//! its own RTP leg, the agent's microphone sent and recorded as sent, what the agent hears
//! played on the headset.
//!
//! The capture-device path ([`crate::Audio::Devices`]) stays for setups with an external
//! phone. Here every remote voice reaches the recorder on its own: the customer's leg as
//! [`Remote::Customer`], each third party's as [`Remote::Party`], so POLICY.md §4 applies per
//! party, and `party_joined`/`party_left` are the instants the legs answered and hung up.
//!
//! Consent comes with the call: an inbound INVITE's `X-Callrec-Consent` header
//! (`granted`, `declined`, `not_asked`) when the telephony platform sends one, otherwise the
//! agent's answer to the consent prompt when answering; a decline from either stands.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use callrec_audio::{AtRate, Playback, Source, live_input_quick};
use callrec_policy::{Consent, Direction};
use callrec_sip::g711::RATE as G711_RATE;
use callrec_sip::media::{Bridge, CallClock, EarlyMedia, LegHandle};
use callrec_sip::phone::{Call, Connected, Ended, Incoming, Phone, StatusCode};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{AgentError, Result};
use crate::session::{Audio, CallRequest, CallView, Legs, Session};

/// The header an inbound INVITE may carry the customer's consent in.
pub const CONSENT_HEADER: &str = "X-Callrec-Consent";
/// How long an outbound call rings before it is cancelled.
const RING_FOR: Duration = Duration::from_secs(60);
/// How long a transfer may take before it is given up (the call stays up).
const TRANSFER_WAIT: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sip(e: callrec_sip::SipError) -> AgentError {
    AgentError::Phone(e.to_string())
}

/// The agent's SIP account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SipAccount {
    /// Where the softphone listens (UDP and TCP), e.g. `192.0.2.10:5062`; the address peers
    /// reach this machine at.
    pub listen: SocketAddr,
    /// The registrar, e.g. `sip:pbx.example:5060`; none: calls are direct (`sip:user@host`).
    pub registrar: Option<String>,
    /// The SIP user name to register.
    pub user: Option<String>,
    /// Its password (kept in memory only).
    pub password: Option<String>,
}

/// Where a softphone call's audio comes from and goes to.
pub enum PhoneAudio {
    /// The microphone and the headset by name (`None`: the defaults).
    Devices {
        /// The agent's microphone.
        mic: Option<String>,
        /// The headset (an output device).
        headset: Option<String>,
    },
    /// The agent's voice from a source (tests, demos); nothing is played.
    Source(Box<dyn Source>),
}

/// The phone as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneView {
    /// The SIP address it listens on.
    pub address: String,
    /// Registered where, or why not (`None`: no registrar, calls are direct).
    pub registration: Option<String>,
    /// A call ringing: who calls, and the consent its INVITE carried.
    pub ringing: Option<RingView>,
    /// The URI being called, while it rings.
    pub dialing: Option<String>,
    /// Whether the callee plays early media (a ringback, an announcement) on the headset
    /// while it rings: heard, never recorded.
    pub early_media: bool,
}

/// An inbound call waiting for the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RingView {
    /// The caller (From).
    pub from: String,
    /// The consent the call came with, if it said.
    pub consent: Option<Consent>,
}

/// The SIP side of the call in progress: what the call bar lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SipCallView {
    /// The customer's URI.
    pub remote: String,
    /// The agent holds the customer.
    pub held: bool,
    /// The microphone is muted (nothing of the agent is sent; the call is still recorded).
    pub muted: bool,
    /// Third parties, in the order they were called.
    pub parties: Vec<PartyView>,
    /// Digits the customer typed (RFC 4733 events).
    pub digits: String,
    /// How the line to the customer is doing.
    pub line: LineView,
}

/// The line to the customer, both ways: what reached the agent, and what the customer's
/// phone reports of what reached it (RTCP, every 5 s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    /// The share of the customer's packets that never played for the agent, in per mille.
    pub heard_lost_permille: u32,
    /// The jitter buffer's delay now, in ms.
    pub delay_ms: u32,
    /// The share of the agent's packets the customer's phone last reported lost (per mille
    /// of its last interval), once it reported.
    pub sent_lost_permille: Option<u32>,
    /// The round trip, once the customer's phone echoed a report.
    pub round_trip_ms: Option<u32>,
    /// Whether either way misses [`POOR_LINE_PERMILLE`] or more: the window warns.
    pub poor: bool,
}

/// The share of audio missing (either way, per mille) from which a line is poor: words start
/// to go missing.
pub const POOR_LINE_PERMILLE: u32 = 50;

impl LineView {
    fn of(stats: &callrec_sip::media::LegStats) -> Self {
        let played = stats.jitter.received + stats.jitter.lost;
        let heard_lost_permille = (stats.jitter.lost * 1_000)
            .checked_div(played)
            .map_or(0, |p| p as u32);
        let sent_lost_permille = stats.peer.map(|p| u32::from(p.fraction_lost) * 1_000 / 256);
        Self {
            heard_lost_permille,
            delay_ms: stats.jitter.delay.as_millis() as u32,
            sent_lost_permille,
            round_trip_ms: stats
                .peer
                .and_then(|p| p.round_trip)
                .map(|r| r.as_millis() as u32),
            poor: heard_lost_permille.max(sent_lost_permille.unwrap_or(0)) >= POOR_LINE_PERMILLE,
        }
    }
}

/// One third party of the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyView {
    /// Its id in the recording (`p1`, `p2`, ...).
    pub id: String,
    /// Whom was called.
    pub uri: String,
    /// ringing, in_call, left, failed.
    pub state: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// The user agent, bound for the session.
pub(crate) struct Softphone {
    phone: Arc<Phone>,
    /// The registrar's host and port: where a bare number is called.
    domain: Option<String>,
    registration: Mutex<Option<String>>,
    ringing: Mutex<Option<Incoming>>,
    dialing: Mutex<Option<Dialing>>,
    stop: CancellationToken,
}

/// A call being placed: where to, how to call it off, and what its callee plays meanwhile.
struct Dialing {
    to: String,
    stop: CancellationToken,
    early: Arc<EarlyMedia>,
}

impl Softphone {
    /// `to` as a SIP URI: itself when it is one, else a user at the registrar's domain.
    fn uri(&self, to: &str) -> Result<String> {
        let to = to.trim();
        if to.starts_with("sip:") || to.starts_with("sips:") {
            return Ok(to.to_owned());
        }
        let user_part = !to.is_empty() && !to.contains(['@', ' ', ':', ';']);
        match &self.domain {
            Some(domain) if user_part => Ok(format!("sip:{to}@{domain}")),
            _ => Err(AgentError::Phone(format!(
                "{to:?}: give a SIP address (e.g. sip:bob@192.0.2.20:5060){}",
                if self.domain.is_some() {
                    " or a number"
                } else {
                    "; numbers need a registrar in the SIP account"
                }
            ))),
        }
    }
}

impl Drop for Softphone {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct PartySlot {
    view: PartyView,
    call: Option<Arc<Call>>,
    leg: Option<LegHandle>,
}

/// The SIP legs of the call in progress.
pub(crate) struct SipCall {
    call: Arc<Call>,
    bridge: Arc<Bridge>,
    customer: LegHandle,
    remote: String,
    parties: Arc<Mutex<Vec<PartySlot>>>,
    _headset: Option<Playback>,
    /// Cancelled when the call is over: the watchers stop, ringing parties are called off.
    over: CancellationToken,
    session: u64,
}

impl SipCall {
    pub(crate) fn is(&self, call: &Arc<Call>) -> bool {
        Arc::ptr_eq(&self.call, call)
    }

    pub(crate) fn view(&self) -> SipCallView {
        SipCallView {
            remote: self.remote.clone(),
            held: self.customer.held(),
            muted: self.bridge.muted(),
            parties: lock(&self.parties).iter().map(|p| p.view.clone()).collect(),
            digits: self.customer.received_digits(),
            line: LineView::of(&self.customer.stats()),
        }
    }

    /// Hangs up every leg still up (BYE), in the background.
    pub(crate) fn hang_up(&self) {
        self.over.cancel();
        let mut calls = vec![Arc::clone(&self.call)];
        calls.extend(lock(&self.parties).iter().filter_map(|p| p.call.clone()));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for call in calls {
                    if call.ended().is_none()
                        && let Err(e) = call.hang_up().await
                    {
                        tracing::warn!(error = %e, "hanging up");
                    }
                }
            });
        }
    }
}

fn consent_of(incoming: &Incoming) -> Option<Consent> {
    match incoming.header(CONSENT_HEADER)?.trim() {
        "granted" => Some(Consent::Granted),
        "declined" => Some(Consent::Declined),
        "not_asked" => Some(Consent::NotAsked),
        other => {
            tracing::warn!(
                value = other,
                "an unknown {CONSENT_HEADER}; the agent is asked instead"
            );
            None
        }
    }
}

impl Session {
    /// Starts the softphone with `account`: binds its address, registers (if a registrar is
    /// given) and listens for calls, which ring in the window until answered or rejected.
    pub async fn connect_phone(self: &Arc<Self>, account: SipAccount) -> Result<PhoneView> {
        if account.listen.ip().is_unspecified() {
            return Err(AgentError::Phone(format!(
                "{}: give the address peers reach this machine at (e.g. 192.0.2.10:5062); 0.0.0.0 cannot be announced in SDP or Contact",
                account.listen
            )));
        }
        if self.has_call() {
            return Err(AgentError::CallInProgress);
        }
        let replaced = lock(&self.phone).take().is_some();
        // A phone just replaced lets go of its port in the background: try again for a moment.
        let mut tries = 0;
        let phone = loop {
            match Phone::bind(account.listen).await {
                Ok(phone) => break Arc::new(phone),
                Err(e) if replaced && tries < 20 => {
                    tracing::debug!(error = %e, "the previous phone still holds the port");
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(sip(e)),
            }
        };
        let registration = match (&account.registrar, &account.user) {
            (Some(registrar), Some(user)) => {
                let password = account.password.as_deref().unwrap_or_default();
                phone
                    .register(registrar, user, password, 300)
                    .await
                    .map_err(sip)?;
                Some(format!("registered as {user} at {registrar}"))
            }
            (Some(_), None) => {
                return Err(AgentError::Phone(
                    "a registrar needs the SIP user name to register".into(),
                ));
            }
            _ => None,
        };
        let domain = account
            .registrar
            .as_deref()
            .map(|r| r.trim_start_matches("sips:").trim_start_matches("sip:"))
            .map(|host| host.split(';').next().unwrap_or(host).to_owned());
        let softphone = Arc::new(Softphone {
            phone: Arc::clone(&phone),
            domain,
            registration: Mutex::new(registration),
            ringing: Mutex::new(None),
            dialing: Mutex::new(None),
            stop: CancellationToken::new(),
        });
        // Calls that arrive ring in the window; a second one while busy is refused (486).
        let (weak, stop) = (Arc::downgrade(&softphone), softphone.stop.clone());
        let session = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let incoming = tokio::select! {
                    () = stop.cancelled() => return,
                    incoming = phone.next_incoming() => match incoming {
                        Some(incoming) => incoming,
                        None => return,
                    },
                };
                let (Some(softphone), Some(session)) = (weak.upgrade(), session.upgrade()) else {
                    return;
                };
                let busy = session.has_call() || lock(&softphone.ringing).is_some();
                if busy {
                    tracing::info!(from = %incoming.from, "a call arrived while busy; 486");
                    let _ = incoming.reject(StatusCode::BusyHere);
                    continue;
                }
                tracing::info!(from = %incoming.from, "a call rings");
                if let Err(e) = incoming.ring() {
                    tracing::warn!(error = %e, "ringing");
                }
                *lock(&softphone.ringing) = Some(incoming);
            }
        });
        *lock(&self.phone) = Some(softphone);
        self.phone_view()
            .ok_or_else(|| AgentError::Phone("the phone stopped".into()))
    }

    /// The softphone as the window shows it (`None`: not connected).
    pub fn phone_view(&self) -> Option<PhoneView> {
        let softphone = lock(&self.phone).clone()?;
        let ringing = lock(&softphone.ringing).as_ref().map(|i| RingView {
            from: i.from.clone(),
            consent: consent_of(i),
        });
        let (dialing, early_media) = match lock(&softphone.dialing).as_ref() {
            Some(d) => (Some(d.to.clone()), d.early.packets() > 0),
            None => (None, false),
        };
        let registration = lock(&softphone.registration).clone();
        Some(PhoneView {
            address: softphone.phone.local_addr().to_string(),
            registration,
            ringing,
            dialing,
            early_media,
        })
    }

    fn softphone(&self) -> Result<Arc<Softphone>> {
        lock(&self.phone).clone().ok_or_else(|| {
            AgentError::Phone("the softphone is not connected: set up the SIP account first".into())
        })
    }

    /// Calls `to` (a SIP URI such as `sip:bob@192.0.2.20:5060`, or a number or user name,
    /// called at the registrar's domain) for `request` (its project, consent); once
    /// answered, the call is recorded from its legs and played on the headset. Returns the
    /// call; a busy, refusing or silent callee is an error naming its status.
    pub async fn dial(
        self: &Arc<Self>,
        to: &str,
        request: CallRequest,
        audio: PhoneAudio,
    ) -> Result<CallView> {
        let softphone = self.softphone()?;
        self.may_take_call()?;
        let to = &softphone.uri(to)?;
        // While it rings, the headset plays the callee's early media (never recorded).
        let (early, heard) = EarlyMedia::new();
        let early = Arc::new(early);
        let ringing = match &audio {
            PhoneAudio::Devices { headset, .. } => Some(
                Playback::open(headset.as_deref(), heard)
                    .map_err(|e| AgentError::Recorder(e.into()))?,
            ),
            PhoneAudio::Source(_) => None,
        };
        let stop = CancellationToken::new();
        {
            let mut dialing = lock(&softphone.dialing);
            if dialing.is_some() {
                return Err(AgentError::CallInProgress);
            }
            *dialing = Some(Dialing {
                to: to.to_owned(),
                stop: stop.clone(),
                early: Arc::clone(&early),
            });
        }
        let session = u64::from(rand_session());
        let placed = softphone
            .phone
            .dial(to, RING_FOR, stop, session, Some(&early))
            .await;
        *lock(&softphone.dialing) = None;
        // The ringing's headset stream closes before the call's opens on the same device
        // (an exclusive device takes one at a time).
        drop(ringing);
        let connected = placed.map_err(sip)?;
        self.connected(connected, to, request, audio, session).await
    }

    /// Calls off the call that rings (CANCEL).
    pub fn cancel_dial(&self) -> Result<()> {
        let softphone = self.softphone()?;
        let dialing = lock(&softphone.dialing);
        dialing.as_ref().ok_or(AgentError::NoCall)?.stop.cancel();
        Ok(())
    }

    /// Answers the ringing call for `request` (the project; the consent the agent got, used
    /// when the INVITE carried none).
    pub async fn answer(
        self: &Arc<Self>,
        mut request: CallRequest,
        audio: PhoneAudio,
    ) -> Result<CallView> {
        let softphone = self.softphone()?;
        self.may_take_call()?;
        let incoming = lock(&softphone.ringing).take().ok_or(AgentError::NoCall)?;
        // What the call carried, unless the agent heard a decline (POLICY.md: decide what
        // records less).
        if let Some(consent) = consent_of(&incoming) {
            request.consent = consent.or_declined_by(request.consent);
        }
        request.direction = Direction::Inbound;
        if request.contact.is_none() {
            request.contact = Some(incoming.from.clone());
        }
        let session = u64::from(rand_session());
        let from = incoming.from.clone();
        let connected = softphone
            .phone
            .accept(incoming, session)
            .await
            .map_err(sip)?;
        self.connected(connected, &from, request, audio, session)
            .await
    }

    /// Refuses the ringing call (603 Decline).
    pub fn reject(&self) -> Result<()> {
        let softphone = self.softphone()?;
        let incoming = lock(&softphone.ringing).take().ok_or(AgentError::NoCall)?;
        incoming.reject(StatusCode::Decline).map_err(sip)
    }

    fn may_take_call(&self) -> Result<()> {
        if self.has_call() {
            return Err(AgentError::CallInProgress);
        }
        Ok(())
    }

    /// An answered call: the bridge on its clock, the recording from its legs, the headset.
    async fn connected(
        self: &Arc<Self>,
        connected: Connected,
        remote: &str,
        request: CallRequest,
        audio: PhoneAudio,
        session: u64,
    ) -> Result<CallView> {
        let Connected { call, rtp, agreed } = connected;
        let call = Arc::new(call);
        let sending = call.peer();
        let (mic, headset) = match audio {
            PhoneAudio::Devices { mic, headset } => {
                match live_input_quick(mic.as_deref(), G711_RATE) {
                    Ok(mic) => (mic, Some(headset)),
                    Err(e) => {
                        let _ = call.hang_up().await;
                        return Err(AgentError::Recorder(e.into()));
                    }
                }
            }
            PhoneAudio::Source(agent) => match AtRate::new(agent, G711_RATE) {
                Ok(agent) => (Box::new(agent) as Box<dyn Source>, None),
                Err(e) => {
                    let _ = call.hang_up().await;
                    return Err(AgentError::Recorder(e.into()));
                }
            },
        };
        let (bridge, sent) = Bridge::start(mic, CallClock::start());
        let joined = bridge.add_leg(rtp, agreed, sending);
        let headset = match headset {
            Some(name) => match Playback::open(name.as_deref(), bridge.headset()) {
                Ok(playback) => Some(playback),
                Err(e) => {
                    let _ = call.hang_up().await;
                    return Err(AgentError::Recorder(e.into()));
                }
            },
            None => None,
        };
        let sip_call = SipCall {
            call: Arc::clone(&call),
            bridge: Arc::new(bridge),
            customer: joined.leg,
            remote: remote.to_owned(),
            parties: Arc::default(),
            _headset: headset,
            over: CancellationToken::new(),
            session,
        };
        let over = sip_call.over.clone();
        let audio = Audio::Legs(Box::new(Legs {
            agent: sent,
            customer: joined.heard,
            sip: sip_call,
        }));
        let view = match self.start_call(request, audio).await {
            Ok(view) => view,
            Err(e) => {
                let _ = call.hang_up().await;
                return Err(e);
            }
        };
        // The peer hanging up ends the call and completes its recording.
        let session = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::select! {
                how = call.wait_ended() => {
                    if how != Ended::ByUs
                        && let Some(session) = session.upgrade()
                        && session.is_sip_call(&call)
                    {
                        tracing::info!(?how, "the peer hung up");
                        // Completing the recording waits for its last frames: not on the
                        // runtime the legs run on.
                        let done = tokio::task::spawn_blocking(move || session.end_call()).await;
                        if let Ok(Err(e)) = done {
                            tracing::warn!(error = %e, "completing the recording");
                        }
                    }
                }
                () = over.cancelled() => {}
            }
        });
        Ok(view)
    }

    /// Holds the customer (re-INVITE `a=sendonly`; nothing of the agent is sent from now) or
    /// resumes (`a=sendrecv`; sending starts again once the customer agreed).
    pub async fn hold(&self, held: bool) -> Result<()> {
        let call = self.with_sip(|s| {
            if held {
                s.customer.set_held(true);
            }
            Arc::clone(&s.call)
        })?;
        let outcome = call.hold(held).await;
        // Agreed: the new state; refused: the call stays as it was.
        let now_held = if outcome.is_ok() { held } else { !held };
        self.with_sip(|s| s.customer.set_held(now_held))?;
        // The recording says why the customer's side is silent meanwhile.
        self.mark("customer", "held", now_held)?;
        outcome.map_err(sip)
    }

    /// Mutes the microphone (nothing of the agent is sent, and the agent side of the
    /// recording is silence) or unmutes it. Mute is not pause: the call is still recorded.
    pub fn mute(&self, muted: bool) -> Result<()> {
        self.with_sip(|s| s.bridge.set_muted(muted))?;
        // The recording says why the agent's side is silent meanwhile.
        self.mark("agent", "muted", muted)
    }

    /// Sends keypad digits as RFC 4733 events (never tones in the recording) to the customer,
    /// or to the party `to` (its id: `p1`, ...), say a company's phone menu called into the
    /// conference. Only that leg gets them.
    pub fn send_digits(&self, digits: &str, to: Option<&str>) -> Result<()> {
        self.with_sip(|s| {
            let Some(id) = to else {
                return s.customer.send_digits(digits).map_err(sip);
            };
            let parties = lock(&s.parties);
            match parties
                .iter()
                .find(|p| p.view.id == id)
                .and_then(|p| p.leg.as_ref())
            {
                Some(leg) => leg.send_digits(digits).map_err(sip),
                None => {
                    let in_call: Vec<&str> = parties
                        .iter()
                        .filter(|p| p.leg.is_some())
                        .map(|p| p.view.id.as_str())
                        .collect();
                    Err(AgentError::Phone(format!(
                        "no party {id:?} in the call to send digits to; in the call: {}",
                        if in_call.is_empty() {
                            "the customer only".to_owned()
                        } else {
                            format!("the customer, {}", in_call.join(", "))
                        }
                    )))
                }
            }
        })?
    }

    /// Calls a third party into the call: once its leg answers, everybody hears everybody,
    /// and it is recorded as POLICY.md §4 allows from that instant (`party_joined`), until
    /// it hangs up (`party_left`). Returns its id.
    pub async fn add_party(self: &Arc<Self>, to: &str) -> Result<String> {
        let softphone = self.softphone()?;
        let to = &softphone.uri(to)?;
        let (parties, bridge, over, session) = self.with_sip(|s| {
            (
                Arc::clone(&s.parties),
                Arc::clone(&s.bridge),
                s.over.clone(),
                s.session,
            )
        })?;
        let id = {
            let mut parties = lock(&parties);
            let id = format!("p{}", parties.len() + 1);
            parties.push(PartySlot {
                view: PartyView {
                    id: id.clone(),
                    uri: to.to_owned(),
                    state: "ringing".into(),
                    error: None,
                },
                call: None,
                leg: None,
            });
            id
        };
        let update = |state: &str, error: Option<String>| {
            if let Some(slot) = lock(&parties).iter_mut().find(|p| p.view.id == id) {
                state.clone_into(&mut slot.view.state);
                slot.view.error = error;
            }
        };
        let Connected { call, rtp, agreed } = match softphone
            .phone
            .dial(to, RING_FOR, over.clone(), session, None)
            .await
        {
            Ok(x) => x,
            Err(e) => {
                update("failed", Some(e.to_string()));
                return Err(sip(e));
            }
        };
        let call = Arc::new(call);
        let joined = bridge.add_leg(rtp, agreed, call.peer());
        let at_ms = joined.at_ms;
        let heard = joined.heard;
        let added = self.add_party_source(&id, heard, at_ms);
        if let Err(e) = added {
            drop(joined.leg);
            let _ = call.hang_up().await;
            update("failed", Some(e.to_string()));
            return Err(e);
        }
        if let Some(slot) = lock(&parties).iter_mut().find(|p| p.view.id == id) {
            slot.call = Some(Arc::clone(&call));
            slot.leg = Some(joined.leg);
            "in_call".clone_into(&mut slot.view.state);
        }
        // The party hanging up is a fact of the call, at the frame its leg left the mix.
        let (session, party) = (Arc::downgrade(self), id.clone());
        let watched: Weak<Mutex<Vec<PartySlot>>> = Arc::downgrade(&parties);
        tokio::spawn(async move {
            tokio::select! {
                how = call.wait_ended() => {
                    let Some(parties) = watched.upgrade() else { return };
                    let leg = lock(&parties)
                        .iter_mut()
                        .find(|p| p.view.id == party)
                        .and_then(|p| {
                            "left".clone_into(&mut p.view.state);
                            p.leg.take()
                        });
                    if let (Some(leg), Some(session)) = (leg, session.upgrade()) {
                        let left = leg.leave();
                        tracing::info!(%party, ?how, at_ms = left, "a third party left");
                        let _ = session.party_left_at(&party, left);
                    }
                }
                () = over.cancelled() => {}
            }
        });
        Ok(id)
    }

    /// Transfers the customer to `to` (blind transfer, REFER); once the customer's new call
    /// is answered, callrec hangs up and the recording is completed. A refusal leaves the
    /// call up, and says why.
    pub async fn transfer(self: &Arc<Self>, to: &str) -> Result<()> {
        let to = &self.softphone()?.uri(to)?;
        let call = self.with_sip(|s| Arc::clone(&s.call))?;
        call.transfer(to, TRANSFER_WAIT).await.map_err(sip)?;
        if self.is_sip_call(&call) {
            // The recording's last frames come from the legs on this runtime: wait elsewhere.
            let session = Arc::clone(self);
            tokio::task::spawn_blocking(move || session.end_call())
                .await
                .map_err(|e| AgentError::Phone(format!("completing the recording: {e}")))??;
        }
        Ok(())
    }
}

fn rand_session() -> u32 {
    uuid::Uuid::now_v7().as_u128() as u32
}

#[cfg(test)]
mod line_tests {
    use super::*;
    use callrec_sip::jitter::JitterStats;
    use callrec_sip::media::LegStats;
    use callrec_sip::rtcp::PeerReport;

    fn stats(lost: u64, peer_fraction: Option<u8>) -> LegStats {
        LegStats {
            jitter: JitterStats {
                received: 1_000 - lost,
                lost,
                ..JitterStats::default()
            },
            peer: peer_fraction.map(|fraction_lost| PeerReport {
                fraction_lost,
                cumulative_lost: 0,
                jitter: std::time::Duration::ZERO,
                round_trip: None,
            }),
            ..LegStats::default()
        }
    }

    #[test]
    fn a_line_is_poor_from_five_percent_missing_either_way() {
        assert!(!LineView::of(&stats(49, None)).poor);
        assert!(LineView::of(&stats(50, None)).poor, "the agent misses 5 %");
        // 13 in 256 is 50.8 ‰ of the agent lost at the customer's phone.
        let theirs = LineView::of(&stats(0, Some(13)));
        assert_eq!(theirs.sent_lost_permille, Some(50));
        assert!(theirs.poor);
        assert!(!LineView::of(&stats(0, Some(12))).poor);
    }
}
