//! `callrec server`: the central store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use callrec_server::{AppState, Options, auth};

/// Run the central store: recording settings and policies for the apps, resumable uploads,
/// listening with permission checks and an audit log, deletion at expiry.
///
/// Everything is kept under --data: callrec.db (SQLite) and blobs/ (audio). On first start
/// the user `admin` is created with the password in CALLREC_ADMIN_PASSWORD, or a generated
/// one printed once.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data folder (created if missing).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8640")]
    listen: SocketAddr,
    /// Seconds between retention sweeps.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    sweep_every: u64,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return crate::fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => crate::fail(&message, 1),
    }
}

async fn serve(args: &Args) -> Result<(), String> {
    let options = Options {
        sweep_every: Duration::from_secs(args.sweep_every),
        ..Options::default()
    };
    let state =
        AppState::open(&args.data, options).map_err(|e| format!("{}: {e}", args.data.display()))?;
    let password = std::env::var("CALLREC_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    if let Some(generated) = auth::bootstrap_admin(&state, password).map_err(|e| e.to_string())? {
        let _ = crate::print(&format!(
            "created user admin with password {generated} (shown once)"
        ));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(addr = %args.listen, data = %args.data.display(), "callrec server listening");
    callrec_server::serve(listener, state, shutdown())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
