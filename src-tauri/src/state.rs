//! What the commands share: the agent's session and the chosen audio devices.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use callrec_agent::Session;
use tauri::{AppHandle, Manager, Runtime};

/// Recording rate of the app's calls.
pub const RATE: u32 = 16_000;

/// The app's state.
pub struct AppState {
    /// The agent's session.
    pub session: Arc<Session>,
    /// Chosen devices: (microphone, call audio); `None` is the system default.
    pub devices: Mutex<(Option<String>, Option<String>)>,
    /// The softphone's headset (an output device); `None` is the system default.
    pub headset: Mutex<Option<String>>,
}

impl AppState {
    /// Opens the session in `$CALLREC_DATA` or the platform's data directory; recovers and
    /// queues calls a crash left behind.
    /// `data` overrides both (tests).
    pub fn open<R: Runtime>(
        app: &AppHandle<R>,
        data: Option<PathBuf>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let from_env = std::env::var_os("CALLREC_DATA")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let data = match data.or(from_env) {
            Some(d) => d,
            None => app.path().app_data_dir()?,
        };
        let session = Session::open(&data, RATE)?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Ok(Self {
            session: Arc::new(session),
            devices: Mutex::new((env("CALLREC_MIC"), env("CALLREC_CALL_AUDIO"))),
            headset: Mutex::new(env("CALLREC_HEADSET")),
        })
    }
}

/// The SIP account in `CALLREC_SIP_LISTEN` (the address to listen on), with
/// `CALLREC_SIP_REGISTRAR`, `CALLREC_SIP_USER` and `CALLREC_SIP_PASSWORD` when the calls go
/// through a registrar.
pub fn sip_account_from_env() -> Option<callrec_agent::SipAccount> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let listen = env("CALLREC_SIP_LISTEN")?;
    match listen.parse() {
        Ok(listen) => Some(callrec_agent::SipAccount {
            listen,
            registrar: env("CALLREC_SIP_REGISTRAR"),
            user: env("CALLREC_SIP_USER"),
            password: env("CALLREC_SIP_PASSWORD"),
        }),
        Err(e) => {
            tracing::error!(%listen, error = %e, "CALLREC_SIP_LISTEN is not IP:PORT; the softphone is off");
            None
        }
    }
}
