//! callrec's agent window: a thin Tauri 2 shell over `callrec-agent`. Commands forward what
//! the agent clicks to the [`callrec_agent::Session`] and map its errors; events push the
//! session's snapshots. No business rule lives here.

mod commands;
mod error;
mod events;
mod state;

use tauri::{Builder, Manager, Runtime, Wry};

/// Builds the app on any runtime (tests use tauri's mock runtime), its data in `data` (else
/// `$CALLREC_DATA`, else the platform's data directory).
pub fn run_app<R: Runtime>(
    builder: Builder<R>,
    data: Option<std::path::PathBuf>,
) -> tauri::Result<tauri::App<R>> {
    let app = builder
        .invoke_handler(tauri::generate_handler![
            commands::sign_in,
            commands::sign_out,
            commands::set_rate,
            commands::test_devices,
            commands::recordings,
            commands::snapshot,
            commands::start_call,
            commands::accept_call,
            commands::intent,
            commands::end_call,
            commands::upload_now,
            commands::retry_upload,
            commands::devices,
            commands::set_devices,
            commands::history,
            commands::play,
            commands::receipts,
            commands::play_receipt,
            commands::connect_phone,
            commands::dial,
            commands::cancel_dial,
            commands::answer,
            commands::reject,
            commands::hold,
            commands::mute,
            commands::send_digits,
            commands::add_party,
            commands::transfer,
        ])
        .build(tauri::generate_context!())?;
    // The session opens (and recovers crashed calls) before the window's first command, not
    // in a setup hook that only runs once the event loop does.
    let state =
        state::AppState::open(app.handle(), data).map_err(|e| tauri::Error::Setup(e.into()))?;
    let session = state.session.clone();
    app.manage(state);
    events::spawn(app.handle().clone());
    // A SIP account given in the environment (kiosk setups, tests) connects at start.
    if let Some(account) = state::sip_account_from_env() {
        tauri::async_runtime::spawn(async move {
            if let Err(e) = session.connect_phone(account).await {
                tracing::error!(error = %e, "the softphone could not start");
            }
        });
    }
    Ok(app)
}

/// Runs the desktop app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CALLREC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run_app(Builder::<Wry>::default(), None) {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => tracing::error!(error = %e, "the window could not start"),
    }
}
