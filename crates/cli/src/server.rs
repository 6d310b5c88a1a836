//! `callrec server`: the central store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use callrec_server::{AppState, Limits, Listening, Options, TlsFiles, auth};

/// Run the central store: recording settings and policies for the apps, resumable uploads,
/// listening with permission checks and an audit log, deletion at expiry.
///
/// Everything is kept under --data: callrec.db (SQLite) and blobs/ (audio). On first start
/// the user `admin` is created with the password in CALLREC_ADMIN_PASSWORD (at least 12
/// characters), or a generated one printed once, when the store is listening.
///
/// Off loopback the store speaks TLS: give --tls-cert and --tls-key (PEM files, read again
/// when they change). --insecure-http serves plain HTTP off loopback, for a TLS-terminating
/// proxy in front of it that nothing else can reach.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data folder (created if missing; readable by this user only).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Address to listen on: IP:PORT or HOST:PORT (e.g. 127.0.0.1:8640, localhost:8640,
    /// 0.0.0.0:443).
    #[arg(long, default_value = "127.0.0.1:8640", value_name = "ADDR")]
    listen: String,
    /// The certificate chain (PEM) for TLS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM) for TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other machines reach (only behind a TLS-terminating
    /// proxy).
    #[arg(long, conflicts_with = "tls_cert")]
    insecure_http: bool,
    /// Seconds between retention sweeps.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    sweep_every: u64,
    /// Hours a session lasts at most after sign-in.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
    session_hours: u64,
    /// Minutes a session lasts unused.
    #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u64).range(1..=43_200))]
    session_idle_minutes: u64,
    /// GiB each agent may hold in the store (their recordings and unfinished uploads).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    quota_gib: u64,
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

/// The address `listen` names: an IP and port, or a host name and port resolved now.
async fn address(listen: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = listen.parse() {
        return Ok(addr);
    }
    let bad = |why: String| {
        format!(
            "--listen {listen}: {why}; give IP:PORT or HOST:PORT, e.g. 127.0.0.1:8640 or localhost:8640"
        )
    };
    if !listen.contains(':') {
        return Err(bad("no port".into()));
    }
    tokio::net::lookup_host(listen)
        .await
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("the name resolves to no address".into()))
}

async fn serve(args: &Args) -> Result<(), String> {
    let addr = address(&args.listen).await?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            reload_every: Duration::from_secs(30),
        }),
        _ => None,
    };
    if tls.is_none() && !addr.ip().is_loopback() && !args.insecure_http {
        return Err(format!(
            "--listen {}: other machines reach this address, and without TLS passwords, sessions and customers' voices would cross the network in clear. Give --tls-cert FILE --tls-key FILE, or --insecure-http if a TLS-terminating proxy in front of the store is the only thing that reaches it",
            args.listen
        ));
    }
    if let Some(tls) = &tls {
        tls.check().map_err(|e| format!("TLS: {e}"))?;
    }
    let options = Options {
        sweep_every: Duration::from_secs(args.sweep_every),
        session_lifetime: Duration::from_secs(args.session_hours * 3600),
        session_idle: Duration::from_secs(args.session_idle_minutes * 60),
        quota_per_user: args.quota_gib << 30,
        ..Options::default()
    };
    let password = std::env::var("CALLREC_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    if let Some(p) = &password
        && let Err(why) = auth::check_password(callrec_policy::Role::Admin, p)
    {
        return Err(format!("CALLREC_ADMIN_PASSWORD: {why}"));
    }
    let state =
        AppState::open(&args.data, options).map_err(|e| format!("{}: {e}", args.data.display()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    // The first admin is made once the store can be reached, so a password printed is never
    // one of a store that did not start.
    if let Some(generated) = auth::bootstrap_admin(&state, password).map_err(|e| e.to_string())? {
        let _ = crate::print(&format!(
            "created user admin with password {generated} (shown once)"
        ));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let host = match bound {
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        SocketAddr::V4(v4) => v4.ip().to_string(),
    };
    let url = format!("{scheme}://{host}:{}", bound.port());
    let _ = crate::print(&format!("listening on {url}, console at {url}/admin"));
    if tls.is_none() && !bound.ip().is_loopback() {
        tracing::warn!(%url, "serving plain HTTP off loopback (--insecure-http)");
    }
    tracing::info!(addr = %bound, data = %args.data.display(), "callrec server listening");
    let listening = Listening {
        tls,
        limits: Limits::default(),
    };
    callrec_server::serve_with(listener, state, listening, shutdown())
        .await
        .map_err(|e| format!("TLS: {e}"))
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
