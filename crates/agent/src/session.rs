//! One agent's session: signed in to one store, one call at a time, recordings queued and
//! uploaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use callrec_audio::{AtRate, Source, live_input};
use callrec_outbox::{Outbox, State};
use callrec_policy::{Consent, Direction, Event, Named, Policy, Refusal, Role};
use callrec_protocol::{CallFact, CallFactEvent, IncomingCall, Pushed, UserInfo};
use callrec_recorder::{CallInfo, LiveCall, LiveState, Sidecar, recover};
use callrec_uploader::{Client, PolicyFetch, UploadError, retry_delay};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::device_test::{DeviceTest, DeviceTestView};
use crate::error::{AgentError, Result};
use crate::secret::TokenStore;
use crate::store_status::{StoreState, StoreView};

const SERVER: &str = "server";
const TOKEN: &str = "token";
const USER: &str = "user";
const ROLE: &str = "role";
const RATE: &str = "rate";

/// The recording rates the app offers (Hz): telephone, wideband and full band.
pub const RATES: [u32; 6] = [8_000, 16_000, 24_000, 32_000, 44_100, 48_000];

/// Where a call's audio comes from.
pub enum Audio {
    /// Input devices by name (`None`: the default input), opened through cpal.
    Devices {
        /// The agent's microphone.
        mic: Option<String>,
        /// The call audio (e.g. the monitor of the headset output).
        call: Option<String>,
    },
    /// Sources already made (tests, replays); at their own rate, resampled as needed.
    Sources {
        /// The agent side.
        agent: Box<dyn Source>,
        /// The remote side.
        remote: Box<dyn Source>,
    },
    /// The softphone's legs, on the call's clock from its answer.
    #[doc(hidden)]
    Legs(Box<Legs>),
}

/// A softphone call's recorder inputs (see [`Session::dial`]).
#[doc(hidden)]
pub struct Legs {
    pub(crate) agent: Box<dyn Source>,
    pub(crate) customer: Box<dyn Source>,
    pub(crate) sip: crate::softphone::SipCall,
}

/// A call the agent starts or accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CallRequest {
    /// The platform's offer it answers, if any: the call is recorded under the offer's id, so
    /// the store can check it against the offer and the platform's facts reach it.
    #[serde(default)]
    pub offer: Option<Uuid>,
    /// The project the call belongs to.
    pub project: String,
    /// The contact (customer) id or number.
    pub contact: Option<String>,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The customer's answer to the consent step, if any.
    pub consent: Consent,
}

/// What the agent may ask for during a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// "Toggle customer voice call recording": on.
    CustomerOn,
    /// The same toggle: off.
    CustomerOff,
    /// Pause recording.
    Pause,
    /// Resume recording.
    Resume,
    /// Start a voice receipt for an order.
    ReceiptStart {
        /// The order.
        order_id: String,
    },
    /// Stop the voice receipt.
    ReceiptStop,
    /// The customer withdrew consent to be recorded (confirmed by the agent): not recorded
    /// for the rest of the call.
    ConsentWithdrawn,
}

impl Intent {
    fn event(self) -> Event {
        match self {
            Self::CustomerOn => Event::CustomerOn,
            Self::CustomerOff => Event::CustomerOff,
            Self::Pause => Event::Pause,
            Self::Resume => Event::Resume,
            Self::ReceiptStart { order_id } => Event::ReceiptStart { order_id },
            Self::ReceiptStop => Event::ReceiptStop,
            Self::ConsentWithdrawn => Event::ConsentWithdrawn,
        }
    }
}

/// Where a policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// Fetched from the store just now (or confirmed current).
    Store,
    /// The store could not be reached: the cached version.
    Cache,
}

struct ActiveCall {
    live: LiveCall,
    request: CallRequest,
    call_id: Uuid,
    policy_source: PolicySource,
    /// The softphone's legs, when the call is the softphone's.
    sip: Option<crate::softphone::SipCall>,
}

/// The agent's call as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallView {
    /// The call id.
    pub call_id: Uuid,
    /// Project, contact, direction, consent.
    pub request: CallRequest,
    /// Where its policy came from.
    pub policy_source: PolicySource,
    /// Milliseconds since it started.
    pub elapsed_ms: u64,
    /// Each side: recorded now, and why (not).
    pub status: callrec_policy::SidesStatus,
    /// The controls, with reasons.
    pub controls: callrec_policy::Controls,
    /// Microphone level (RMS, peak).
    pub mic_level: (f32, f32),
    /// Call audio level.
    pub call_level: (f32, f32),
    /// The microphone's device, when it was lost during the call.
    pub mic_health: Option<DeviceHealth>,
    /// The call audio's device, when it was lost during the call.
    pub call_health: Option<DeviceHealth>,
    /// Voice receipt takes so far.
    pub takes: Vec<callrec_policy::Take>,
    /// Order ids whose next voice receipt would replace a kept take: confirm before.
    pub replaces: Vec<String>,
    /// When the customer withdrew consent (ms into the call), if they did.
    pub consent_withdrawn_at_ms: Option<u64>,
    /// The softphone's side of the call (its parties, hold, mute), when it is a SIP call.
    pub sip: Option<crate::softphone::SipCallView>,
}

/// An input device that was lost during the call: silence stands in for it while it is,
/// and the recording lists the gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceHealth {
    /// Lost now (reconnecting every second).
    pub lost: bool,
    /// Times it was lost in this call.
    pub losses: u32,
    /// Times it came back.
    pub reconnects: u32,
    /// What the device said.
    pub error: Option<String>,
}

fn device_health(h: Option<callrec_audio::InputHealth>) -> Option<DeviceHealth> {
    h.filter(|h| h.losses > 0).map(|h| DeviceHealth {
        lost: h.lost,
        losses: h.losses,
        reconnects: h.reconnects,
        error: h.error,
    })
}

/// One recording in the upload queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadView {
    /// The call.
    pub call_id: Uuid,
    /// queued, uploading, uploaded, deleted, failed.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The agent who recorded it, when another user is signed in now: it waits for them
    /// (a recording is uploaded under its own agent's session only).
    pub waiting_for: Option<String>,
    /// Bytes the store holds, while uploading.
    pub sent_bytes: u64,
    /// Bytes of the whole call, once an upload has begun.
    pub total_bytes: Option<u64>,
}

/// Everything the window shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Who is signed in, and where.
    pub user: Option<String>,
    /// Their role: agent, supervisor or admin.
    pub role: Option<String>,
    /// Whether they take calls here (the window offers the dial form only then).
    pub takes_calls: bool,
    /// The store's address.
    pub server: Option<String>,
    /// Whether the link to the store is encrypted (https); `None` when signed out. The window
    /// says so when it is not.
    pub encrypted: Option<bool>,
    /// Whether the store can be reached.
    pub store: StoreView,
    /// The recording rate of the next call (Hz).
    pub rate: u32,
    /// The rates the agent may choose from ([`RATES`]).
    pub rates: &'static [u32],
    /// The device test, while it runs.
    pub device_test: Option<DeviceTestView>,
    /// The call in progress.
    pub call: Option<CallView>,
    /// The softphone, when its SIP account is set up.
    pub phone: Option<crate::softphone::PhoneView>,
    /// Recordings not yet confirmed by the store (and recent ones that were).
    pub uploads: Vec<UploadView>,
    /// The recording settings cached for each project, for calls while the store cannot be
    /// reached, and until when they may serve (POLICY.md §8).
    pub cached_settings: Vec<CachedSettingsView>,
}

/// One project's cached recording settings, as the window shows them while offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedSettingsView {
    /// The project.
    pub project: String,
    /// When the store last confirmed them.
    #[serde(with = "time::serde::rfc3339")]
    pub confirmed_at: OffsetDateTime,
    /// Their limit (the global `offline_policy_days`).
    pub offline_days: u8,
    /// Until when they may serve offline.
    #[serde(with = "time::serde::rfc3339")]
    pub usable_until: OffsetDateTime,
    /// Whether they may serve now (past the limit, calls in the project are not recorded
    /// until the store is reached).
    pub usable: bool,
}

/// What an upload pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct UploadReport {
    /// Calls the store confirmed.
    pub stored: u32,
    /// Calls that expired before upload (deleted).
    pub expired: u32,
    /// Calls that failed this time (retried later, or failed for good).
    pub failed: u32,
    /// Calls still pending.
    pub pending: u64,
}

/// The engine of one agent's app. All methods are safe to call from any thread.
pub struct Session {
    /// Where the session's token is kept (not in the database).
    tokens: TokenStore,
    data: PathBuf,
    rate: AtomicU32,
    outbox: Mutex<Outbox>,
    client: Mutex<Option<Client>>,
    call: Mutex<Option<ActiveCall>>,
    store: Mutex<StoreView>,
    /// Upload progress of the calls being uploaded: (bytes the store holds, total).
    progress: Mutex<HashMap<Uuid, (u64, u64)>>,
    device_test: Mutex<Option<DeviceTest>>,
    /// Who recorded each queued call (read once from its sidecar).
    owners: Mutex<HashMap<Uuid, String>>,
    /// The softphone, once its SIP account is set up.
    pub(crate) phone: Mutex<Option<std::sync::Arc<crate::softphone::Softphone>>>,
}

/// Creates the data folder if missing and closes it to other users (0700): recordings,
/// the queue and the session are this user's alone.
fn private_dir(data: &Path) -> Result<()> {
    let failed = |source| AgentError::Io {
        what: "making the data folder",
        path: data.to_owned(),
        source,
    };
    std::fs::create_dir_all(data).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Session {
    /// Opens the agent's data folder: the outbox, the remembered session, and any call a
    /// crash interrupted (repaired and queued like any recording). `rate` is the recording
    /// rate until the agent chooses another ([`Session::set_rate`]).
    pub fn open(data: &Path, rate: u32) -> Result<Self> {
        private_dir(data)?;
        let outbox = Outbox::open(&data.join("callrec.db"))?;
        let tokens = TokenStore::new(data);
        // A session remembered in the database by an older version moves to its own file.
        if let Some(token) = outbox.setting(TOKEN)? {
            tokens.save(&token)?;
            outbox.remove_setting(TOKEN)?;
        }
        let client = match (outbox.setting(SERVER)?, tokens.load()?) {
            (Some(server), Some(token)) => Some(Client::new(&server)?.with_token(&token)),
            _ => None,
        };
        let rate = outbox
            .setting(RATE)?
            .and_then(|r| r.parse().ok())
            .filter(|r| RATES.contains(r))
            .unwrap_or(rate);
        let session = Self {
            tokens,
            data: data.to_owned(),
            rate: AtomicU32::new(rate),
            outbox: Mutex::new(outbox),
            client: Mutex::new(client),
            call: Mutex::new(None),
            store: Mutex::new(StoreView::default()),
            progress: Mutex::new(HashMap::new()),
            device_test: Mutex::new(None),
            owners: Mutex::new(HashMap::new()),
            phone: Mutex::new(None),
        };
        session.recover_interrupted()?;
        Ok(session)
    }

    fn recordings_dir(&self) -> PathBuf {
        self.data.join("recordings")
    }

    /// Completes and queues every call folder a crash left behind.
    fn recover_interrupted(&self) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(self.recordings_dir()) else {
            return Ok(());
        };
        let now = OffsetDateTime::now_utc();
        for entry in entries.flatten() {
            let dir = entry.path();
            if let Some(sidecar) = recover(&dir)? {
                tracing::warn!(call = %sidecar.info.call_id, "recovered a call interrupted by a crash");
            }
            if dir.join(callrec_recorder::SIDECAR).exists() {
                lock(&self.outbox).enqueue(&dir, now)?;
            }
        }
        Ok(())
    }

    /// Queues a recorded call folder (e.g. from `callrec record`) for upload; queuing the same
    /// call again changes nothing.
    pub fn queue(&self, dir: &Path) -> Result<()> {
        lock(&self.outbox).enqueue(dir, OffsetDateTime::now_utc())?;
        Ok(())
    }

    /// Every recording in the local queue, as `callrec outbox` lists it.
    pub fn queue_entries(&self) -> Result<Vec<callrec_outbox::Entry>> {
        Ok(lock(&self.outbox).list()?)
    }

    /// Signs in and remembers the session. Recordings still queued for another store keep
    /// the app on that store until they are uploaded: a recording goes to the store whose
    /// policy it was made under.
    pub async fn sign_in(&self, server: &str, username: &str, password: &str) -> Result<UserInfo> {
        // The address as the client will use it (`host:port` is https), checked first.
        let client = Client::new(server)?;
        let server = client.base();
        {
            let outbox = lock(&self.outbox);
            if let Some(old) = outbox.setting(SERVER)?
                && old.trim_end_matches('/') != server
            {
                let count = outbox
                    .list()?
                    .iter()
                    .filter(|e| matches!(e.state, State::Queued | State::Uploading))
                    .count();
                if count > 0 {
                    return Err(AgentError::PendingForOtherServer { server: old, count });
                }
            }
        }
        let login = self.seen(client.login(username, password).await)?;
        // The secret store answers over D-Bus (or a file is written): not on the runtime.
        let (tokens, token) = (self.tokens.clone(), login.token.clone());
        tokio::task::spawn_blocking(move || tokens.save(&token))
            .await
            .map_err(|e| AgentError::Io {
                what: "saving the session",
                path: self.data.clone(),
                source: std::io::Error::other(e.to_string()),
            })??;
        {
            let outbox = lock(&self.outbox);
            outbox.set_setting(SERVER, client.base())?;
            outbox.set_setting(USER, &login.user.username)?;
            outbox.set_setting(ROLE, &login.user.role.to_string())?;
        }
        *lock(&self.client) = Some(client.with_token(&login.token));
        Ok(login.user)
    }

    /// Signs out: the session is forgotten, the store's address and the queued recordings
    /// stay (they upload after the next sign-in). Not during a call.
    pub fn sign_out(&self) -> Result<()> {
        if lock(&self.call).is_some() {
            return Err(AgentError::CallInProgress);
        }
        {
            let outbox = lock(&self.outbox);
            for key in [USER, ROLE] {
                outbox.remove_setting(key)?;
            }
        }
        self.tokens.forget()?;
        // The store ends the session too (best effort: offline, it ends by itself).
        if let Some(client) = lock(&self.client).take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(e) = client.logout().await {
                    tracing::info!(error = %e, "the store was not told of the sign-out");
                }
            });
        }
        *lock(&self.store) = StoreView::default();
        Ok(())
    }

    /// Records what a request to the store found out (reachable, offline, session expired)
    /// and passes its result on.
    fn seen<T>(
        &self,
        result: std::result::Result<T, UploadError>,
    ) -> std::result::Result<T, UploadError> {
        lock(&self.store).note(&result, OffsetDateTime::now_utc());
        result
    }

    /// The recording rate of the next call (Hz).
    pub fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Chooses the recording rate of the next calls (one of [`RATES`]), remembered.
    pub fn set_rate(&self, rate: u32) -> Result<()> {
        if !RATES.contains(&rate) {
            return Err(AgentError::InvalidRate {
                rate,
                allowed: RATES.map(|r| r.to_string()).join(", "),
            });
        }
        lock(&self.outbox).set_setting(RATE, &rate.to_string())?;
        self.rate.store(rate, Ordering::Relaxed);
        Ok(())
    }

    /// Starts metering the devices (outside a call), or stops with `None`. A call stops it.
    pub fn test_devices(&self, devices: Option<(Option<String>, Option<String>)>) -> Result<()> {
        // The old test releases its devices before the new one opens them.
        drop(lock(&self.device_test).take());
        if let Some((mic, call)) = devices {
            if lock(&self.call).is_some() {
                return Err(AgentError::CallInProgress);
            }
            *lock(&self.device_test) = Some(DeviceTest::start(mic, call));
        }
        Ok(())
    }

    fn client(&self) -> Result<Client> {
        lock(&self.client).clone().ok_or(AgentError::NotSignedIn)
    }

    /// A project's policy: from the store (validated against the cached version), or the
    /// cached one when the store cannot be reached. No policy at all is an error: nothing may
    /// be recorded without one.
    pub async fn policy(&self, project: &str) -> Result<(Policy, PolicySource)> {
        let cached = lock(&self.outbox).cached_policy(project)?;
        let fetched = match self.client() {
            Ok(client) => self.seen(
                client
                    .policy(project, cached.as_ref().map(|c| c.version.as_str()))
                    .await,
            ),
            Err(e) => return self.offline_policy(project, cached, e),
        };
        let now = OffsetDateTime::now_utc();
        match fetched {
            Ok(PolicyFetch::Changed(p)) => {
                let json = serde_json::to_string(&p.policy).unwrap_or_default();
                lock(&self.outbox).cache_policy(&callrec_outbox::CachedPolicy {
                    project_id: project.to_owned(),
                    version: p.version,
                    json,
                    confirmed_at: now,
                    offline_days: p.offline_policy_days,
                })?;
                Ok((p.policy, PolicySource::Store))
            }
            Ok(PolicyFetch::NotModified) => {
                // The store confirmed the cached policy: the offline days count from now.
                lock(&self.outbox).confirm_policy(project, now)?;
                cached
                    .and_then(|c| serde_json::from_str::<Policy>(&c.json).ok())
                    .map(|p| (p, PolicySource::Store))
                    .ok_or_else(|| AgentError::NoPolicy {
                        project: project.into(),
                    })
            }
            Err(e) if e.is_transient() => self.offline_policy(project, cached, e.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The cached policy, the store being out of reach: only within its offline days after
    /// the store last confirmed it (POLICY.md §8: the admin may have changed the settings to
    /// record less meanwhile); else nothing is recorded, and `why` or the age says why.
    fn offline_policy(
        &self,
        project: &str,
        cached: Option<callrec_outbox::CachedPolicy>,
        why: AgentError,
    ) -> Result<(Policy, PolicySource)> {
        let Some(cached) = cached else {
            return Err(match why {
                AgentError::NotSignedIn => why,
                _ => AgentError::NoPolicy {
                    project: project.into(),
                },
            });
        };
        if !cached.usable_at(OffsetDateTime::now_utc()) {
            return Err(AgentError::CachedPolicyTooOld {
                project: project.into(),
                confirmed_at: cached.confirmed_at,
                days: cached.offline_days,
            });
        }
        serde_json::from_str::<Policy>(&cached.json)
            .map(|p| (p, PolicySource::Cache))
            .map_err(|_| AgentError::NoPolicy {
                project: project.into(),
            })
    }

    /// Starts (or accepts) a call: its policy in force, its audio recorded from now on.
    pub async fn start_call(&self, request: CallRequest, audio: Audio) -> Result<CallView> {
        if lock(&self.call).is_some() {
            return Err(AgentError::CallInProgress);
        }
        self.client()?;
        if let Some(role) = lock(&self.outbox).setting(ROLE)?
            && !takes_calls(Some(&role))
        {
            return Err(AgentError::NotAnAgent { role });
        }
        // A device test would hold the devices the call needs.
        drop(lock(&self.device_test).take());
        let (policy, policy_source) = self.policy(&request.project).await?;
        let version = lock(&self.outbox)
            .cached_policy(&request.project)?
            .map(|c| c.version);
        let call_id = request.offer.unwrap_or_else(Uuid::now_v7);
        let user = lock(&self.outbox).setting(USER)?.unwrap_or_default();
        let info = CallInfo {
            call_id,
            project_id: Some(request.project.clone()),
            policy_version: version,
            agent: user,
            contact: request.contact.clone(),
            origin_at: OffsetDateTime::now_utc(),
        };
        let dir = self.recordings_dir().join(call_id.to_string());
        let (live, sip) = match audio {
            Audio::Legs(legs) => {
                let Legs {
                    agent,
                    customer,
                    sip,
                } = *legs;
                let rate = self.rate();
                let conform = |s: Box<dyn Source>| -> Result<Box<dyn Source>> {
                    Ok(Box::new(
                        AtRate::new(s, rate).map_err(callrec_recorder::RecorderError::from)?,
                    ))
                };
                let live = LiveCall::start_on_clock(
                    &dir,
                    policy,
                    info,
                    rate,
                    conform(agent)?,
                    vec![(callrec_recorder::Remote::Customer, conform(customer)?)],
                )?;
                (live, Some(sip))
            }
            audio => {
                let (agent, remote) = self.sources(audio)?;
                (
                    LiveCall::start(&dir, policy, info, self.rate(), agent, remote)?,
                    None,
                )
            }
        };
        let started = live.event(Event::CallStarted {
            direction: request.direction,
            consent: request.consent,
        })?;
        if let Err(refusal) = started {
            return Err(AgentError::Recorder(
                callrec_recorder::RecorderError::Journal {
                    path: dir,
                    why: format!("the call could not start: {}", refusal.reason),
                },
            ));
        }
        let mut slot = lock(&self.call);
        if slot.is_some() {
            return Err(AgentError::CallInProgress);
        }
        *slot = Some(ActiveCall {
            live,
            request,
            call_id,
            policy_source,
            sip,
        });
        slot.as_ref().map(view).ok_or(AgentError::NoCall)
    }

    fn sources(&self, audio: Audio) -> Result<(Box<dyn Source>, Box<dyn Source>)> {
        let rate = self.rate();
        let conform = |s: Box<dyn Source>| -> Result<Box<dyn Source>> {
            Ok(Box::new(
                AtRate::new(s, rate).map_err(callrec_recorder::RecorderError::from)?,
            ))
        };
        match audio {
            Audio::Sources { agent, remote } => Ok((conform(agent)?, conform(remote)?)),
            Audio::Legs(_) => Err(AgentError::Phone(
                "a softphone call is recorded from its legs".into(),
            )),
            Audio::Devices { mic, call } => {
                let open = |name: Option<String>| -> Result<Box<dyn Source>> {
                    Ok(live_input(name.as_deref(), rate)
                        .map_err(callrec_recorder::RecorderError::from)?)
                };
                Ok((open(mic)?, open(call)?))
            }
        }
    }

    /// Listens for calls the telephony platform offers this agent; each is handed to
    /// `on_call` (the window rings). Returns when the connection ends or `on_call` says stop.
    ///
    /// Facts of the agent's calls reported by the platform (a party joined or left, consent
    /// withdrawn, the call ended) are applied to the call in progress the instant they arrive.
    pub async fn watch_calls(&self, mut on_call: impl FnMut(IncomingCall) -> bool) -> Result<()> {
        let client = self.client()?;
        let on_open = || {
            lock(&self.store).set(StoreState::Online, None, OffsetDateTime::now_utc());
        };
        let on_pushed = |pushed: Pushed| match pushed {
            Pushed::Offer(call) => on_call(call),
            Pushed::Fact(fact) => {
                self.apply_fact(&fact);
                true
            }
        };
        let result = client.watch_calls_with(on_open, on_pushed).await;
        // The stream only ends when the connection does: until it is back, the store is
        // out of reach.
        let result = result.and(Err(UploadError::Transient(
            "the connection to the store closed".into(),
        )));
        match self.seen(result) {
            Err(UploadError::Transient(_)) | Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies a fact the platform reported to the call in progress, if it is that call: a
    /// party joining or leaving (the conference rules of POLICY.md §4), a withdrawn consent,
    /// the end (the recording is completed, even if the agent forgot to hang up).
    pub fn apply_fact(&self, fact: &CallFactEvent) {
        let current = lock(&self.call).as_ref().map(|c| c.call_id);
        if current != Some(fact.call_id) {
            tracing::info!(call = %fact.call_id, "a fact of a call not in progress here; ignored");
            return;
        }
        let applied = match &fact.fact {
            CallFact::PartyJoined { party } => self.party(party, true).map(|_| ()),
            CallFact::PartyLeft { party } => self.party(party, false).map(|_| ()),
            CallFact::ConsentWithdrawn => self.withdraw_consent().map(|_| ()),
            // Completing the recording waits for its last frames.
            CallFact::CallEnded => tokio::task::block_in_place(|| self.end_call()).map(|_| ()),
        };
        match applied {
            Ok(()) => {
                tracing::info!(call = %fact.call_id, fact = ?fact.fact, "the platform's fact applied")
            }
            Err(e) => {
                tracing::warn!(call = %fact.call_id, error = %e, "the platform's fact could not be applied")
            }
        }
    }

    /// The customer withdrew consent (the agent or the platform says so): from now on the call
    /// is as if consent had been declined (POLICY.md §3). A refusal (already declined) is an
    /// answer, not an error.
    pub fn withdraw_consent(&self) -> Result<std::result::Result<(), Refusal>> {
        let slot = lock(&self.call);
        let call = slot.as_ref().ok_or(AgentError::NoCall)?;
        Ok(call.live.event(Event::ConsentWithdrawn)?.map(|_| ()))
    }

    /// Accepts an offered call: recorded under its project's policy, with its consent, as the
    /// offer's call (the platform's later facts name it).
    pub async fn accept_call(&self, call: &IncomingCall, audio: Audio) -> Result<CallView> {
        let request = CallRequest {
            offer: Some(call.id),
            project: call.project.clone(),
            contact: call.contact.clone(),
            direction: call.direction,
            consent: call.consent,
        };
        self.start_call(request, audio).await
    }

    /// A contact's call history (date, agent, duration, receipts), each call marked playable
    /// only where this agent may hear it.
    pub async fn history(&self, contact: &str) -> Result<Vec<callrec_protocol::HistoryEntry>> {
        let client = self.client()?;
        Ok(self.seen(client.contact_history(contact).await)?)
    }

    /// Recordings this user may hear (a supervisor's projects; an agent's own, and others'
    /// where the project allows), filtered by project, agent, contact and date.
    pub async fn recordings(
        &self,
        query: &callrec_protocol::RecordingQuery,
    ) -> Result<callrec_protocol::RecordingList> {
        let client = self.client()?;
        Ok(self.seen(client.recordings(query).await)?)
    }

    /// A recording's audio, for the window's player.
    pub async fn recording_audio(&self, id: Uuid) -> Result<Vec<u8>> {
        let client = self.client()?;
        self.audio(client.recording_audio(&id).await)
    }

    /// Audio the store answered with; "not found" (not there, or not this user's to hear)
    /// in words.
    fn audio(&self, answer: std::result::Result<Vec<u8>, UploadError>) -> Result<Vec<u8>> {
        match self.seen(answer) {
            Err(UploadError::Refused { code, .. }) if code == "not_found" => {
                Err(AgentError::RecordingUnavailable)
            }
            other => Ok(other?),
        }
    }

    /// Voice receipts this user may hear (a contact's, an order's).
    pub async fn receipts(
        &self,
        query: &callrec_protocol::ReceiptQuery,
    ) -> Result<callrec_protocol::ReceiptList> {
        let client = self.client()?;
        Ok(self.seen(client.receipts(query).await)?)
    }

    /// A voice receipt's audio, for the window's player.
    pub async fn receipt_audio(&self, id: Uuid) -> Result<Vec<u8>> {
        let client = self.client()?;
        self.audio(client.receipt_audio(&id).await)
    }

    /// Applies an agent's action now. A refusal (with its reason) is an answer, not an error.
    pub fn intent(&self, intent: Intent) -> Result<std::result::Result<(), Refusal>> {
        let slot = lock(&self.call);
        let call = slot.as_ref().ok_or(AgentError::NoCall)?;
        Ok(call.live.event(intent.event())?.map(|_| ()))
    }

    /// A fact of the call: a third party joined or left (from the telephony side).
    pub fn party(&self, party: &str, joined: bool) -> Result<std::result::Result<(), Refusal>> {
        let slot = lock(&self.call);
        let call = slot.as_ref().ok_or(AgentError::NoCall)?;
        let party = party.to_owned();
        let event = if joined {
            Event::PartyJoined { party }
        } else {
            Event::PartyLeft { party }
        };
        Ok(call.live.event(event)?.map(|_| ()))
    }

    /// Whether a call is in progress.
    pub(crate) fn has_call(&self) -> bool {
        lock(&self.call).is_some()
    }

    /// Whether `call` is the softphone call in progress.
    pub(crate) fn is_sip_call(&self, call: &std::sync::Arc<callrec_sip::phone::Call>) -> bool {
        lock(&self.call)
            .as_ref()
            .and_then(|c| c.sip.as_ref())
            .is_some_and(|s| s.is(call))
    }

    /// Runs `f` on the softphone call in progress.
    /// Begins or ends a stretch of the running call's recording that explains a side's
    /// audio (see [`LiveCall::mark`]).
    pub(crate) fn mark(&self, side: &str, reason: &str, on: bool) -> Result<()> {
        let slot = lock(&self.call);
        let call = slot.as_ref().ok_or(AgentError::NoCall)?;
        Ok(call.live.mark(side, reason, on)?)
    }

    pub(crate) fn with_sip<T>(
        &self,
        f: impl FnOnce(&mut crate::softphone::SipCall) -> T,
    ) -> Result<T> {
        let mut slot = lock(&self.call);
        let sip = slot
            .as_mut()
            .ok_or(AgentError::NoCall)?
            .sip
            .as_mut()
            .ok_or_else(|| {
                AgentError::Phone("the call in progress is not the softphone's".into())
            })?;
        Ok(f(sip))
    }

    /// A third party's own audio joins the recording from `at_ms` (its leg answered then),
    /// with its `party_joined` at that instant.
    pub(crate) fn add_party_source(
        &self,
        party: &str,
        heard: Box<dyn Source>,
        at_ms: u64,
    ) -> Result<()> {
        let slot = lock(&self.call);
        let call = slot.as_ref().ok_or(AgentError::NoCall)?;
        let heard = Box::new(
            AtRate::new(heard, self.rate()).map_err(callrec_recorder::RecorderError::from)?,
        );
        call.live.add_remote(
            callrec_recorder::Remote::Party(party.to_owned()),
            heard,
            at_ms,
        )?;
        // A refusal (the party already present) is part of the call's record.
        let _ = call.live.event_at(
            at_ms,
            Event::PartyJoined {
                party: party.to_owned(),
            },
        )?;
        Ok(())
    }

    /// A party's leg hung up at `at_ms`: its `party_left`, at that exact instant.
    pub(crate) fn party_left_at(&self, party: &str, at_ms: u64) -> Result<()> {
        let slot = lock(&self.call);
        let call = slot.as_ref().ok_or(AgentError::NoCall)?;
        let party = party.to_owned();
        let _ = call.live.event_at(at_ms, Event::PartyLeft { party })?;
        Ok(())
    }

    /// Hangs up: the recording is completed and queued for upload.
    pub fn end_call(&self) -> Result<Sidecar> {
        let mut call = lock(&self.call).take().ok_or(AgentError::NoCall)?;
        // The BYEs go at once; the legs keep running until the recording has every frame up
        // to this instant.
        let sip = call.sip.take();
        if let Some(sip) = &sip {
            sip.hang_up();
        }
        let dir = self.recordings_dir().join(call.call_id.to_string());
        let sidecar = call.live.finish()?;
        drop(sip);
        lock(&self.outbox).enqueue(&dir, OffsetDateTime::now_utc())?;
        Ok(sidecar)
    }

    /// Uploads what is due (or everything pending, with `all`), deletes expired local copies.
    pub async fn upload_once(&self, all: bool) -> Result<UploadReport> {
        let mut report = UploadReport::default();
        let now = OffsetDateTime::now_utc();
        report.expired += u32::try_from(lock(&self.outbox).sweep_expired(now)?.len()).unwrap_or(0);
        let client = self.client()?;
        report.expired += self.drop_what_the_store_deleted(&client).await?;
        let horizon = if all {
            now + time::Duration::days(36_500)
        } else {
            now
        };
        let user = lock(&self.outbox).setting(USER)?.unwrap_or_default();
        let due = lock(&self.outbox).due(horizon)?;
        // Another agent's calls (a shared desk) wait for that agent: the store files a
        // recording under whoever uploads it.
        for entry in due
            .into_iter()
            .filter(|e| self.owner_other_than(e, &user).is_none())
        {
            let entry =
                lock(&self.outbox).start_attempt(entry.call_id, OffsetDateTime::now_utc())?;
            let id = entry.call_id;
            let result = client
                .upload_call(&entry.dir, |p| {
                    lock(&self.progress).insert(id, (p.sent, p.total));
                })
                .await;
            lock(&self.progress).remove(&id);
            let result = self.seen(result);
            let outbox = lock(&self.outbox);
            match result {
                Ok(_) => {
                    outbox.uploaded(entry.call_id, OffsetDateTime::now_utc())?;
                    report.stored += 1;
                }
                Err(UploadError::Expired) => {
                    outbox.expired(entry.call_id)?;
                    report.expired += 1;
                }
                Err(e) => {
                    let retry = (e.is_transient() || matches!(e, UploadError::Unauthorized))
                        .then(|| OffsetDateTime::now_utc() + retry_delay(entry.attempts));
                    outbox.attempt_failed(entry.call_id, &e.to_string(), retry)?;
                    report.failed += 1;
                }
            }
        }
        report.pending = lock(&self.outbox).pending_count()?;
        Ok(report)
    }

    /// Asks the store about every call still on this machine and deletes those it erased on
    /// request or whose holding time was shortened past them; returns how many went. Offline,
    /// nothing goes (the store is asked again at the next pass).
    async fn drop_what_the_store_deleted(&self, client: &Client) -> Result<u32> {
        let entries = lock(&self.outbox).list()?;
        let calls: Vec<callrec_protocol::LocalCall> = entries
            .iter()
            .filter(|e| e.state != State::Deleted && e.state != State::Uploaded)
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.dir.join(callrec_recorder::SIDECAR)).ok()?;
                let sidecar: Sidecar = serde_json::from_str(&text).ok()?;
                Some(callrec_protocol::LocalCall {
                    id: e.call_id,
                    project_id: sidecar.info.project_id?,
                    contact: sidecar.info.contact,
                    started_at: sidecar.started_at.unwrap_or(sidecar.info.origin_at),
                })
            })
            .collect();
        let doomed = match self.seen(client.calls_to_delete(calls).await) {
            Ok(doomed) => doomed,
            Err(UploadError::Transient(_)) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let outbox = lock(&self.outbox);
        for id in &doomed {
            outbox.expired(*id)?;
            tracing::info!(call = %id, "deleted on the store's word (erased on request, or expired)");
        }
        Ok(u32::try_from(doomed.len()).unwrap_or(u32::MAX))
    }

    /// Puts one recording back in line now (a failed one, once what the store refused is
    /// fixed, or a queued one waiting for its backoff); the next upload pass takes it.
    pub fn retry_upload(&self, call_id: Uuid) -> Result<()> {
        lock(&self.outbox).retry(call_id, OffsetDateTime::now_utc())?;
        Ok(())
    }

    /// The agent who recorded a queued call, if that is someone other than `user` (calls
    /// recorded outside a session, with no agent, belong to whoever uploads them).
    fn owner_other_than(&self, entry: &callrec_outbox::Entry, user: &str) -> Option<String> {
        let mut owners = lock(&self.owners);
        let agent = match owners.entry(entry.call_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let json = std::fs::read(entry.dir.join(callrec_recorder::SIDECAR)).ok()?;
                let sidecar: Sidecar = serde_json::from_slice(&json).ok()?;
                slot.insert(sidecar.info.agent)
            }
        };
        (!agent.is_empty() && agent != user).then(|| agent.clone())
    }

    /// Everything the window shows, now.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let call = lock(&self.call).as_ref().map(view);
        let device_test = lock(&self.device_test).as_ref().map(DeviceTest::view);
        let progress = lock(&self.progress).clone();
        let outbox = lock(&self.outbox);
        let user = outbox.setting(USER)?.unwrap_or_default();
        let uploads = outbox
            .list()?
            .into_iter()
            .filter(|e| e.state != State::Deleted)
            .map(|e| {
                let (sent_bytes, total_bytes) = progress
                    .get(&e.call_id)
                    .map_or((0, None), |&(sent, total)| (sent, Some(total)));
                let waiting_for = e
                    .state
                    .is_pending()
                    .then(|| self.owner_other_than(&e, &user))
                    .flatten();
                UploadView {
                    waiting_for,
                    call_id: e.call_id,
                    state: e.state.as_str().to_owned(),
                    attempts: e.attempts,
                    last_error: e.last_error,
                    sent_bytes,
                    total_bytes,
                }
            })
            .collect();
        let now = OffsetDateTime::now_utc();
        let cached_settings = outbox
            .cached_policies()?
            .into_iter()
            .map(|c| CachedSettingsView {
                usable: c.usable_at(now),
                usable_until: c.usable_until(),
                project: c.project_id,
                confirmed_at: c.confirmed_at,
                offline_days: c.offline_days,
            })
            .collect();
        Ok(Snapshot {
            user: outbox.setting(USER)?,
            takes_calls: takes_calls(outbox.setting(ROLE)?.as_deref()),
            role: outbox.setting(ROLE)?,
            server: outbox.setting(SERVER)?,
            encrypted: lock(&self.client).as_ref().map(Client::encrypted),
            store: lock(&self.store).clone(),
            rate: self.rate(),
            rates: &RATES,
            device_test,
            call,
            phone: self.phone_view(),
            uploads,
            cached_settings,
        })
    }
}

/// Whether a user of `role` takes calls; a session remembered from before roles were kept
/// (`None`) is an agent's.
fn takes_calls(role: Option<&str>) -> bool {
    role.is_none_or(|r| Role::from_name(r).is_some_and(Role::takes_calls))
}

fn view(call: &ActiveCall) -> CallView {
    let LiveState {
        elapsed_ms,
        status,
        controls,
        agent_level,
        remote_level,
        takes,
        replaces,
        agent_health,
        remote_health,
        consent_withdrawn_at_ms,
        ..
    } = call.live.state();
    CallView {
        call_id: call.call_id,
        request: call.request.clone(),
        policy_source: call.policy_source,
        elapsed_ms,
        status,
        controls,
        mic_level: (agent_level.rms, agent_level.peak),
        call_level: (remote_level.rms, remote_level.peak),
        mic_health: device_health(agent_health),
        call_health: device_health(remote_health),
        takes,
        replaces,
        consent_withdrawn_at_ms,
        sip: call.sip.as_ref().map(crate::softphone::SipCall::view),
    }
}
