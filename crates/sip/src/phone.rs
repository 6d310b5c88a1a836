//! The SIP user agent: one endpoint (rsipstack's transactions and dialogs over UDP), calls
//! placed to a URI without a registrar, and calls received and answered.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog::{Dialog, DialogState, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
pub use rsipstack::sip::StatusCode;
use rsipstack::sip::{Header, Method, StatusCodeKind, Uri};
use rsipstack::transaction::key::TransactionRole;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::{TransportLayer, udp::UdpConnection};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::error::{Result, SipError};
use crate::g711::Codec;
use crate::media::EarlyMedia;
use crate::sdp;

fn signalling(e: impl std::fmt::Display) -> SipError {
    SipError::Signalling(e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long [`Call::hang_up`] waits for the peer to answer its BYE.
pub const BYE_PATIENCE: Duration = Duration::from_millis(500);

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// callrec hung up.
    ByUs,
    /// The peer hung up.
    ByPeer,
    /// Anything else (a timeout, a cancelled call), in words.
    Other(String),
}

/// What callrec put in its own session description for a call, to answer re-INVITEs.
#[derive(Debug, Clone, Copy)]
pub struct LocalMedia {
    /// The RTP address.
    pub addr: SocketAddr,
    /// The agreed codec.
    pub codec: Codec,
    /// The telephone-event payload type, if agreed.
    pub telephone_event: Option<u8>,
    /// Whether comfort noise was agreed.
    pub comfort_noise: bool,
    /// The SDP session id.
    pub session: u64,
}

struct Media {
    local: LocalMedia,
    version: u64,
    /// Cleared while the peer holds the call (its SDP says sendonly or inactive).
    sending: Arc<AtomicBool>,
    /// The peer's RTP address as last agreed, and where a re-offer's new one is handed over.
    remote: Option<SocketAddr>,
    moved: Arc<Mutex<Option<SocketAddr>>>,
}

#[derive(Default)]
struct Calls {
    /// Dialogs that ended, by id, with how.
    ended: HashMap<String, Ended>,
    /// Each call's media, by dialog id.
    media: HashMap<String, Media>,
    /// The latest progress of each call's transfer (the status in the peer's NOTIFY).
    transfers: HashMap<String, u16>,
    /// Calls that ring and want their early media: the SDP of a 183 goes there, by Call-ID.
    early: HashMap<String, mpsc::UnboundedSender<Vec<u8>>>,
}

/// Takes a ringing call's early-media wish out of the book when dropped.
struct Forget {
    calls: Arc<Mutex<Calls>>,
    call_id: String,
}

impl Drop for Forget {
    fn drop(&mut self) {
        lock(&self.calls).early.remove(&self.call_id);
    }
}

/// Where calls go once registered: the account's address of record, its registrar as the
/// outbound proxy, and the credential for its digest challenges.
#[derive(Clone)]
struct Account {
    aor: Uri,
    proxy: rsipstack::transport::SipAddr,
    credential: rsipstack::dialog::authenticate::Credential,
}

/// A SIP user agent bound to one address.
pub struct Phone {
    /// Set by [`Phone::register`]: calls go through the registrar, as that user.
    account: Mutex<Option<Account>>,
    endpoint: rsipstack::transaction::endpoint::EndpointInnerRef,
    dialogs: Arc<DialogLayer>,
    state_tx: rsipstack::dialog::dialog::DialogStateSender,
    contact: Uri,
    local: SocketAddr,
    incoming: tokio::sync::Mutex<mpsc::UnboundedReceiver<InviteDialog>>,
    calls: Arc<Mutex<Calls>>,
    changed: Arc<Notify>,
    cancel: CancellationToken,
}

/// An established call (either direction).
pub struct Call {
    dialog: InviteDialog,
    /// The peer's session description (its offer or its answer).
    pub remote_sdp: Vec<u8>,
    calls: Arc<Mutex<Calls>>,
    changed: Arc<Notify>,
}

/// A call answered (either way) with its media agreed: ready to be a bridge's leg.
pub struct Connected {
    /// The call.
    pub call: Call,
    /// The RTP socket its SDP announced, and the RTCP one above it.
    pub rtp: crate::media::RtpPorts,
    /// The media both sides agreed on.
    pub agreed: sdp::Agreed,
}

/// The offer callrec makes: PCMU, PCMA, Opus (last: the call runs at 8 kHz), telephone-events
/// and comfort noise, send and receive.
fn our_offer(rtp: SocketAddr, session: u64) -> Vec<u8> {
    sdp::describe(
        rtp,
        &[
            Codec::Pcmu,
            Codec::Pcma,
            Codec::Opus(crate::g711::OPUS_PAYLOAD_TYPE),
        ],
        sdp::Direction::SendRecv,
        Some(sdp::TELEPHONE_EVENT),
        true,
        session,
        1,
    )
}

/// A call that arrived and waits for an answer.
pub struct Incoming {
    dialog: InviteDialog,
    /// The caller's offer.
    pub offer: Vec<u8>,
    /// Who calls: the From header's display name and URI (no tag).
    pub from: String,
    calls: Arc<Mutex<Calls>>,
    changed: Arc<Notify>,
}

impl Phone {
    /// Starts a user agent on `bind` (UDP and TCP), e.g. `127.0.0.1:5062` (port 0: any free
    /// one).
    pub async fn bind(bind: SocketAddr) -> Result<Self> {
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let udp = UdpConnection::create_connection(bind, None, Some(cancel.child_token()))
            .await
            .map_err(|e| SipError::Io {
                what: format!("binding SIP on udp {bind}"),
                source: std::io::Error::other(e.to_string()),
            })?;
        let local = udp.get_addr().get_socketaddr().map_err(signalling)?;
        transport.add_transport(udp.into());
        // TCP on the same port: peers that send `;transport=tcp` (or large messages) reach
        // us there. Outbound TCP is opened on demand for `;transport=tcp` URIs.
        let tcp = TcpListenerConnection::new(local, None)
            .await
            .map_err(|e| SipError::Io {
                what: format!("listening for SIP on tcp {local}"),
                source: std::io::Error::other(e.to_string()),
            })?;
        transport.add_transport(tcp.into());
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent("callrec")
            .build();
        let mut requests = endpoint.incoming_transactions().map_err(signalling)?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_tx, mut state_rx) = dialogs.new_dialog_state_channel();
        let contact: Uri = format!("sip:callrec@{local}")
            .as_str()
            .try_into()
            .map_err(signalling)?;
        let calls = Arc::new(Mutex::new(Calls::default()));
        let changed = Arc::new(Notify::new());
        let (incoming_tx, incoming) = mpsc::unbounded_channel();

        // Requests from the network: new INVITEs, and in-dialog ACK, BYE, re-INVITE, CANCEL.
        let (layer, tx_states, own) = (Arc::clone(&dialogs), state_tx.clone(), contact.clone());
        let stopping = cancel.clone();
        tokio::spawn(async move {
            // Until the phone is dropped: nothing of it (its port included) outlives it.
            while let Some(mut tx) = tokio::select! {
                () = stopping.cancelled() => None,
                tx = requests.recv() => tx,
            } {
                if let Some(Dialog::Invite(mut dialog)) = layer.match_dialog(&tx) {
                    tokio::spawn(async move { dialog.handle(&mut tx).await });
                    continue;
                }
                match tx.original.method {
                    Method::Invite => {
                        match layer.get_or_create_server_invite(
                            &tx,
                            tx_states.clone(),
                            None,
                            Some(own.clone()),
                        ) {
                            Ok(mut dialog) => {
                                tokio::spawn(async move { dialog.handle(&mut tx).await });
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "an INVITE callrec cannot take");
                                let _ = tx.reply(StatusCode::ServerInternalError).await;
                            }
                        }
                    }
                    Method::Options => {
                        let _ = tx.reply(StatusCode::OK).await;
                    }
                    method => {
                        tracing::info!(%method, "a request outside any call; answered 481");
                        let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                    }
                }
            }
        });

        // Dialog events: calls that arrive, and calls that end.
        let stopped = cancel.clone();
        let (layer, book, notify) = (
            Arc::clone(&dialogs),
            Arc::clone(&calls),
            Arc::clone(&changed),
        );
        tokio::spawn(async move {
            while let Some(state) = tokio::select! {
                () = stopped.cancelled() => None,
                state = state_rx.recv() => state,
            } {
                match state {
                    DialogState::Calling(id) => {
                        if let Some(Dialog::Invite(dialog)) = layer.get_dialog(&id)
                            && dialog.role() == TransactionRole::Server
                        {
                            let _ = incoming_tx.send(dialog);
                        }
                    }
                    DialogState::Updated(id, request, handle) => {
                        // A re-INVITE (with or without an offer) or an UPDATE with one
                        // (session timers refresh with either) gets callrec's media back.
                        let offers = request.method == Method::Invite
                            || (request.method == Method::Update && !request.body().is_empty());
                        let answer = offers
                            .then(|| reoffer(&book, &id.to_string(), request.body()))
                            .flatten();
                        let sdp = vec![Header::ContentType("application/sdp".into())];
                        let _ = match answer {
                            Some(Ok(answer)) => {
                                handle
                                    .respond(StatusCode::OK, Some(sdp), Some(answer))
                                    .await
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "a re-INVITE callrec cannot accept");
                                handle.reply(StatusCode::NotAcceptableHere).await
                            }
                            None => handle.reply(StatusCode::OK).await,
                        };
                        notify.notify_waiters();
                    }
                    DialogState::Refer(_, _, handle) => {
                        // Being transferred by the peer is not supported yet.
                        let _ = handle.reply(StatusCode::Decline).await;
                    }
                    DialogState::Notify(id, request, handle) => {
                        // Answered first: what the progress sets off (a BYE once the transfer
                        // went through) must come after our 200, not race it.
                        let _ = handle.reply(StatusCode::OK).await;
                        // A transfer's progress (RFC 3515): a sipfrag status line.
                        if let Some(status) = sipfrag_status(request.body()) {
                            tracing::info!(status, "the transfer's progress");
                            lock(&book).transfers.insert(id.to_string(), status);
                            notify.notify_waiters();
                        }
                    }
                    DialogState::Early(id, response) if !response.body().is_empty() => {
                        // A provisional answer with SDP (183 Session Progress): early media.
                        if let Some(early) = lock(&book).early.get(&id.call_id) {
                            let _ = early.send(response.body().clone());
                        }
                    }
                    DialogState::Info(_, _, handle)
                    | DialogState::Options(_, _, handle)
                    | DialogState::Message(_, _, handle) => {
                        let _ = handle.reply(StatusCode::OK).await;
                    }
                    DialogState::Terminated(id, reason) => {
                        let how = match reason {
                            TerminatedReason::UacBye | TerminatedReason::UasBye => {
                                // Which side sent it is told apart by the caller's own record.
                                Ended::ByPeer
                            }
                            other => Ended::Other(format!("{other:?}")),
                        };
                        let mut calls = lock(&book);
                        // Nothing more is sent to a peer whose call is over (the leg may run
                        // on until the recording is complete).
                        if let Some(media) = calls.media.get(&id.to_string()) {
                            media.sending.store(false, Ordering::Relaxed);
                        }
                        calls.ended.entry(id.to_string()).or_insert(how);
                        drop(calls);
                        layer.remove_dialog(&id);
                        notify.notify_waiters();
                    }
                    _ => {}
                }
            }
        });
        let serving = endpoint.inner.clone();
        let serving_until = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = serving_until.cancelled() => {}
                _ = serving.serve() => {}
            }
        });
        Ok(Self {
            account: Mutex::new(None),
            endpoint: endpoint.inner.clone(),
            dialogs,
            state_tx,
            contact,
            local,
            incoming: tokio::sync::Mutex::new(incoming),
            calls,
            changed,
            cancel,
        })
    }

    /// Registers `user` at `registrar` (e.g. `sip:127.0.0.1:5060`) with digest
    /// authentication, and keeps the registration fresh (at 75% of the granted time) until
    /// the phone is dropped. A refusal is an error naming the status.
    pub async fn register(
        &self,
        registrar: &str,
        user: &str,
        password: &str,
        expires: u32,
    ) -> Result<()> {
        let server: Uri = registrar.try_into().map_err(|e| {
            SipError::Signalling(format!(
                "{registrar:?} is not a SIP URI (e.g. sip:pbx.example:5060): {e}"
            ))
        })?;
        let mut registration = rsipstack::dialog::registration::Registration::new(
            self.endpoint.clone(),
            Some(credential_for(user, password)),
        );
        let response = registration
            .register(server.clone(), Some(expires))
            .await
            .map_err(signalling)?;
        if response.status_code.kind() != StatusCodeKind::Successful {
            return Err(SipError::Registration {
                registrar: registrar.to_owned(),
                status: response.status_code.to_string(),
            });
        }
        tracing::info!(%registrar, user, "registered");
        let aor: Uri = format!("sip:{user}@{}", server.host_with_port)
            .as_str()
            .try_into()
            .map_err(signalling)?;
        let proxy = rsipstack::transport::SipAddr::try_from(&server).map_err(signalling)?;
        *lock(&self.account) = Some(Account {
            aor,
            proxy,
            credential: credential_for(user, password),
        });
        let token = self.cancel.child_token();
        tokio::spawn(async move {
            registration
                .keep_alive(server, expires, token, |outcome| {
                    tracing::debug!(?outcome, "registration refreshed");
                })
                .await;
        });
        Ok(())
    }

    /// The address SIP listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Calls `to` (e.g. `sip:bob@127.0.0.1:5070`) with `offer`; returns once it is answered.
    /// A refusal (busy, declined, not found) is an error naming the status; a call not
    /// answered within `ring_for` is cancelled (CANCEL) and reported as such.
    pub async fn call(&self, to: &str, offer: Vec<u8>, ring_for: Duration) -> Result<Call> {
        self.call_until(to, offer, ring_for, CancellationToken::new())
            .await
    }

    /// [`Phone::call`], called off (CANCEL) as soon as `stop` is cancelled while it rings.
    pub async fn call_until(
        &self,
        to: &str,
        offer: Vec<u8>,
        ring_for: Duration,
        stop: CancellationToken,
    ) -> Result<Call> {
        self.invite(to, offer, ring_for, stop, None).await
    }

    /// [`Phone::call_until`], handing `early` the SDP of each provisional answer that
    /// carries one (early media) while it rings.
    async fn invite(
        &self,
        to: &str,
        offer: Vec<u8>,
        ring_for: Duration,
        stop: CancellationToken,
        early: Option<mpsc::UnboundedSender<Vec<u8>>>,
    ) -> Result<Call> {
        let callee: Uri = to.try_into().map_err(|e| {
            SipError::Signalling(format!(
                "{to:?} is not a SIP URI (e.g. sip:bob@127.0.0.1:5070): {e}"
            ))
        })?;
        // Registered: as that user, through the registrar, answering its challenges.
        let account = lock(&self.account).clone();
        let option = InviteOption {
            caller: account
                .as_ref()
                .map_or_else(|| self.contact.clone(), |a| a.aor.clone()),
            callee,
            contact: self.contact.clone(),
            content_type: Some("application/sdp".into()),
            offer: Some(offer),
            destination: account.as_ref().map(|a| a.proxy.clone()),
            credential: account.map(|a| a.credential),
            ..Default::default()
        };
        let (dialog, mut answered) = self
            .dialogs
            .do_invite_async(option, self.state_tx.clone())
            .map_err(signalling)?;
        // Early media is wanted while it rings, and forgotten however ringing ends (the
        // INVITE failing, or this future dropped).
        let wish = early.map(|early| {
            let call_id = dialog.id().call_id;
            lock(&self.calls).early.insert(call_id.clone(), early);
            Forget {
                calls: Arc::clone(&self.calls),
                call_id,
            }
        });
        let gave_up = tokio::select! {
            joined = &mut answered => {
                let (_, response) = joined.map_err(signalling)?.map_err(signalling)?;
                Ok(response)
            }
            () = tokio::time::sleep(ring_for) => Err(SipError::NoAnswer {
                to: to.to_owned(),
                after: ring_for,
            }),
            () = stop.cancelled() => Err(SipError::CalledOff { to: to.to_owned() }),
        };
        drop(wish);
        let response = match gave_up {
            Ok(response) => response,
            Err(why) => {
                dialog.cancel().await.map_err(signalling)?;
                // The INVITE ends with 487 once the callee has the CANCEL.
                let _ = tokio::time::timeout(Duration::from_secs(5), answered).await;
                return Err(why);
            }
        };
        let response = response.ok_or_else(|| {
            SipError::Signalling(format!(
                "no SIP response from {to}: check its address, port and transport, and any firewall"
            ))
        })?;
        if response.status_code.kind() != StatusCodeKind::Successful {
            return Err(SipError::Signalling(format!(
                "{to} refused the call: {}",
                response.status_code
            )));
        }
        Ok(Call {
            dialog,
            remote_sdp: response.body().clone(),
            calls: Arc::clone(&self.calls),
            changed: Arc::clone(&self.changed),
        })
    }

    /// Calls `to` with callrec's offer (SDP session id `session`) and agrees on the media of
    /// the answer, registered for re-INVITEs. Rings up to `ring_for`, or until `stop` is
    /// cancelled. What the callee plays before it answers (early media: a 183 with SDP) goes
    /// to `early`, if given. An answer callrec cannot use is hung up rather than left silent.
    pub async fn dial(
        &self,
        to: &str,
        ring_for: Duration,
        stop: CancellationToken,
        session: u64,
        early: Option<&EarlyMedia>,
    ) -> Result<Connected> {
        let rtp = crate::media::bind_media(self.local.ip()).await?;
        let local = rtp.rtp.local_addr().map_err(|source| SipError::Io {
            what: "reading the RTP socket's address".into(),
            source,
        })?;
        let offer = our_offer(local, session);
        let call = match early {
            None => self.invite(to, offer, ring_for, stop, None).await?,
            Some(early) => {
                let (sdp_tx, sdp_rx) = mpsc::unbounded_channel();
                let ringing = self.invite(to, offer, ring_for, stop, Some(sdp_tx));
                tokio::pin!(ringing);
                tokio::select! {
                    call = &mut ringing => call?,
                    // Plays until the call is answered or given up (it never ends first).
                    () = early.play(&rtp.rtp, sdp_rx) => ringing.await?,
                }
            }
        };
        match sdp::parse(&call.remote_sdp).and_then(|a| sdp::accept_answer(&a)) {
            Ok(agreed) => {
                call.set_local_media(LocalMedia {
                    addr: local,
                    codec: agreed.codec,
                    telephone_event: agreed.telephone_event,
                    comfort_noise: agreed.comfort_noise,
                    session,
                });
                call.set_remote(agreed.remote);
                Ok(Connected { call, rtp, agreed })
            }
            Err(e) => {
                let _ = call.hang_up().await;
                Err(e)
            }
        }
    }

    /// Answers `incoming` with the media agreed from its offer (refused with 488 Not
    /// Acceptable Here when none is usable), registered for re-INVITEs.
    pub async fn accept(&self, incoming: Incoming, session: u64) -> Result<Connected> {
        let offered = sdp::parse(&incoming.offer);
        let (offer, agreed) = match offered.and_then(|o| sdp::accept_offer(&o).map(|a| (o, a))) {
            Ok(x) => x,
            Err(e) => {
                let _ = incoming.reject(StatusCode::NotAcceptableHere);
                return Err(SipError::Signalling(format!(
                    "refused the call with 488: {e}"
                )));
            }
        };
        let rtp = crate::media::bind_media(self.local.ip()).await?;
        let local = rtp.rtp.local_addr().map_err(|source| SipError::Io {
            what: "reading the RTP socket's address".into(),
            source,
        })?;
        let answer = sdp::describe_answer(local, &agreed, &offer, session, 1);
        let call = incoming.answer(answer)?;
        let sending = call.set_local_media(LocalMedia {
            addr: local,
            codec: agreed.codec,
            telephone_event: agreed.telephone_event,
            comfort_noise: agreed.comfort_noise,
            session,
        });
        call.set_remote(agreed.remote);
        // An offer that holds the call from the start (sendonly, inactive): nothing is sent.
        sending.store(
            matches!(
                agreed.direction,
                sdp::Direction::SendRecv | sdp::Direction::SendOnly
            ),
            Ordering::Relaxed,
        );
        Ok(Connected { call, rtp, agreed })
    }

    /// Waits for the next call that arrives.
    pub async fn next_incoming(&self) -> Option<Incoming> {
        let dialog = self.incoming.lock().await.recv().await?;
        let request = dialog.initial_request();
        let from = request
            .headers
            .iter()
            .find_map(|h| match h {
                Header::From(from) => Some(caller(from.value())),
                _ => None,
            })
            .unwrap_or_default();
        Some(Incoming {
            offer: request.body().clone(),
            from,
            dialog,
            calls: Arc::clone(&self.calls),
            changed: Arc::clone(&self.changed),
        })
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The answer to a peer's re-INVITE: the same media, the direction RFC 3264 asks for (a hold
/// answered recvonly or inactive), sending stopped while held. `None` for an unknown call.
fn reoffer(book: &Mutex<Calls>, id: &str, body: &[u8]) -> Option<Result<Vec<u8>>> {
    let mut calls = lock(book);
    let Some(media) = calls.media.get_mut(id) else {
        tracing::warn!(id, known = ?calls.media.keys().collect::<Vec<_>>(), "a re-INVITE for a call callrec has no media for");
        return None;
    };
    media.version += 1;
    let offer = if body.is_empty() {
        // A re-INVITE without an offer asks for ours.
        None
    } else {
        match sdp::parse(body) {
            Ok(offer) => Some(offer),
            Err(e) => return Some(Err(e)),
        }
    };
    let direction = offer
        .as_ref()
        .map_or(sdp::Direction::SendRecv, |o| o.direction.answer());
    // A new address (not a hold's 0.0.0.0): the leg sends there from its next frame.
    if let Some(offer) = &offer
        && !offer.addr.ip().is_unspecified()
        && media.remote.is_some_and(|r| r != offer.addr)
    {
        tracing::info!(from = ?media.remote, to = %offer.addr, "the peer re-offered another RTP address");
        media.remote = Some(offer.addr);
        *lock(&media.moved) = Some(offer.addr);
    }
    let sends = matches!(
        direction,
        sdp::Direction::SendRecv | sdp::Direction::SendOnly
    );
    if media.sending.swap(sends, Ordering::Relaxed) != sends {
        tracing::info!(held = !sends, "the peer changed the call's media direction");
    }
    let local = media.local;
    let agreed = sdp::Agreed {
        codec: local.codec,
        remote: local.addr,
        telephone_event: local.telephone_event,
        comfort_noise: local.comfort_noise,
        direction,
    };
    Some(Ok(match &offer {
        Some(offer) => {
            sdp::describe_answer(local.addr, &agreed, offer, local.session, media.version)
        }
        None => sdp::describe(
            local.addr,
            &[local.codec],
            direction,
            local.telephone_event,
            local.comfort_noise,
            local.session,
            media.version,
        ),
    }))
}

/// Who calls, from a From header's value: its display name and URI, without the tag
/// (`"Bob" <sip:bob@host>;tag=x` is `Bob <sip:bob@host>`, `sip:bob@host;tag=x` is
/// `sip:bob@host`).
fn caller(from: &str) -> String {
    let from = from.trim();
    match (from.find('<'), from.find('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = from[..open].trim().trim_matches('"').trim();
            let uri = &from[open + 1..close];
            if name.is_empty() {
                uri.to_owned()
            } else {
                format!("{name} <{uri}>")
            }
        }
        _ => from.split(';').next().unwrap_or(from).trim().to_owned(),
    }
}

fn credential_for(user: &str, password: &str) -> rsipstack::dialog::authenticate::Credential {
    rsipstack::dialog::authenticate::Credential {
        username: user.to_owned(),
        password: password.to_owned(),
        realm: None,
        auth_username: None,
    }
}

/// The status code of a `message/sipfrag` body's status line (`SIP/2.0 200 OK`).
fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?;
    let mut words = line.split_whitespace();
    (words.next()? == "SIP/2.0")
        .then(|| words.next()?.parse().ok())
        .flatten()
}

impl Incoming {
    /// Tells the caller it rings (180 Ringing) while the agent decides.
    pub fn ring(&self) -> Result<()> {
        self.dialog.ringing(None, None).map_err(signalling)
    }

    /// A header of the INVITE by name (case-insensitive), e.g. `X-Callrec-Consent`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.dialog
            .initial_request()
            .headers
            .iter()
            .map(ToString::to_string)
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
    }

    /// Rings, then answers with `answer` (200 OK with SDP).
    pub fn answer(self, answer: Vec<u8>) -> Result<Call> {
        self.dialog.ringing(None, None).map_err(signalling)?;
        self.dialog
            .accept(
                Some(vec![Header::ContentType("application/sdp".into())]),
                Some(answer),
            )
            .map_err(signalling)?;
        Ok(Call {
            dialog: self.dialog,
            remote_sdp: self.offer,
            calls: self.calls,
            changed: self.changed,
        })
    }

    /// Refuses the call with `status` (e.g. 486 Busy Here, 603 Decline).
    pub fn reject(self, status: StatusCode) -> Result<()> {
        self.dialog.reject(Some(status), None).map_err(signalling)
    }
}

impl Call {
    fn key(&self) -> String {
        self.dialog.id().to_string()
    }

    /// Registers the media callrec described for this call (to answer the peer's
    /// re-INVITEs); returns the flag that says whether to send (cleared while held).
    pub fn set_local_media(&self, local: LocalMedia) -> Arc<AtomicBool> {
        let sending = Arc::new(AtomicBool::new(true));
        lock(&self.calls).media.insert(
            self.key(),
            Media {
                local,
                version: 1,
                sending: Arc::clone(&sending),
                remote: None,
                moved: Arc::default(),
            },
        );
        sending
    }

    /// What the bridge's leg follows of the peer: whether it listens (cleared while it holds
    /// the call) and where it moved its RTP; set up by [`Call::set_local_media`].
    pub fn peer(&self) -> crate::media::Peer {
        lock(&self.calls)
            .media
            .get(&self.key())
            .map_or_else(crate::media::Peer::default, |m| crate::media::Peer {
                listens: Arc::clone(&m.sending),
                moved: Arc::clone(&m.moved),
            })
    }

    /// Notes the peer's RTP address as agreed (a re-offer naming another one moves the leg).
    fn set_remote(&self, remote: SocketAddr) {
        if let Some(media) = lock(&self.calls).media.get_mut(&self.key()) {
            media.remote = Some(remote);
        }
    }

    /// Whether callrec sends media now (false while the peer holds the call).
    pub fn sending(&self) -> bool {
        lock(&self.calls)
            .media
            .get(&self.key())
            .is_none_or(|m| m.sending.load(Ordering::Relaxed))
    }

    /// Holds the call (a re-INVITE offering `a=sendonly`) or resumes it (`a=sendrecv`).
    /// Sending stops or starts with it is the bridge's ([`crate::media::LegHandle::set_held`]).
    /// A refusal names the peer's status; the call stays as it was.
    pub async fn hold(&self, held: bool) -> Result<()> {
        let offer = {
            let mut calls = lock(&self.calls);
            let media = calls
                .media
                .get_mut(&self.key())
                .ok_or_else(|| SipError::Signalling("the call's media is not set up yet".into()))?;
            media.version += 1;
            let direction = if held {
                sdp::Direction::SendOnly
            } else {
                sdp::Direction::SendRecv
            };
            sdp::describe(
                media.local.addr,
                &[media.local.codec],
                direction,
                media.local.telephone_event,
                media.local.comfort_noise,
                media.local.session,
                media.version,
            )
        };
        let what = if held { "hold" } else { "resume" };
        let response = self
            .dialog
            .reinvite_with_glare_retry(
                Some(vec![Header::ContentType("application/sdp".into())]),
                Some(offer),
                3,
            )
            .await
            .map_err(signalling)?
            .ok_or_else(|| {
                SipError::Signalling(format!("cannot {what}: the call is not established"))
            })?;
        if response.status_code.kind() != StatusCodeKind::Successful {
            return Err(SipError::Signalling(format!(
                "the peer refused to {what} the call: {}",
                response.status_code
            )));
        }
        tracing::info!(held, "the call's hold changed");
        Ok(())
    }

    /// Transfers the peer to `target` (blind transfer: REFER), waits up to `wait` for the
    /// peer to report that the new call was answered, then hangs up. A refused REFER or a
    /// failed new call is an error naming the status, and the call stays up.
    pub async fn transfer(&self, target: &str, wait: Duration) -> Result<()> {
        let uri: Uri = target.try_into().map_err(|e| {
            SipError::Signalling(format!(
                "{target:?} is not a SIP URI (e.g. sip:carol@127.0.0.1:5070): {e}"
            ))
        })?;
        let response = self
            .dialog
            .refer(uri, None, None)
            .await
            .map_err(signalling)?
            .ok_or_else(|| {
                SipError::Signalling("cannot transfer: the call is not established".into())
            })?;
        if response.status_code.kind() != StatusCodeKind::Successful {
            return Err(SipError::Signalling(format!(
                "the peer refused the transfer to {target}: {}",
                response.status_code
            )));
        }
        tracing::info!(%target, "the peer accepted the transfer");
        let outcome = tokio::time::timeout(wait, async {
            loop {
                let notified = self.changed.notified();
                if let Some(status) = lock(&self.calls).transfers.get(&self.key()).copied()
                    && status >= 200
                {
                    return Ok(status);
                }
                if let Some(how) = self.ended() {
                    // The peer hung up on its own once the transfer went through.
                    return Err(how);
                }
                notified.await;
            }
        })
        .await;
        match outcome {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                // Our 200 to that NOTIFY leaves through its transaction's task: give it a
                // moment so the BYE does not overtake it (strict peers abort on the order).
                tokio::time::sleep(Duration::from_millis(100)).await;
                self.hang_up().await
            }
            Ok(Ok(status)) => Err(SipError::Signalling(format!(
                "the transfer to {target} failed: the new call ended with {status}; the call goes on"
            ))),
            Ok(Err(_)) => Ok(()),
            Err(_) => Err(SipError::Signalling(format!(
                "the peer did not report the transfer to {target} within {} s; the call goes on",
                wait.as_secs()
            ))),
        }
    }

    /// Hangs up: the call is over for callrec at once (nothing more is sent), and the BYE
    /// leaves now. Returns when the peer answers it, or after [`BYE_PATIENCE`]: a peer that
    /// never answers (it vanished, or a NAT dropped its mapping) does not hold the caller up,
    /// and the BYE's retransmissions run on in the background until its transaction times
    /// out.
    pub async fn hang_up(&self) -> Result<()> {
        {
            let mut calls = lock(&self.calls);
            if let Some(media) = calls.media.get(&self.key()) {
                media.sending.store(false, Ordering::Relaxed);
            }
            calls.ended.insert(self.key(), Ended::ByUs);
        }
        self.changed.notify_waiters();
        let dialog = self.dialog.clone();
        let bye = tokio::spawn(async move { dialog.bye().await });
        match tokio::time::timeout(BYE_PATIENCE, bye).await {
            Ok(Ok(sent)) => sent.map_err(signalling),
            Ok(Err(e)) => Err(SipError::Signalling(format!("sending the BYE: {e}"))),
            Err(_) => {
                tracing::info!(
                    "the peer has not answered the BYE yet; it is retransmitted in the background"
                );
                Ok(())
            }
        }
    }

    /// Whether (and how) the call has ended.
    pub fn ended(&self) -> Option<Ended> {
        lock(&self.calls).ended.get(&self.key()).cloned()
    }

    /// Waits until the call ends (either side).
    pub async fn wait_ended(&self) -> Ended {
        loop {
            let notified = self.changed.notified();
            if let Some(how) = self.ended() {
                return how;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::caller;

    #[test]
    fn the_caller_is_shown_without_its_tag() {
        assert_eq!(
            caller("<sip:bob@127.0.0.1:5070>;tag=abc"),
            "sip:bob@127.0.0.1:5070"
        );
        assert_eq!(
            caller("\"Bob Smith\" <sip:bob@pbx.example>;tag=1"),
            "Bob Smith <sip:bob@pbx.example>"
        );
        assert_eq!(caller("sip:carol@host;tag=9"), "sip:carol@host");
    }
}
