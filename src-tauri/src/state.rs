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
        })
    }
}
