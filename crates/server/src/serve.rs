//! The store on a socket: HTTP/1.1 and HTTP/2, plain (loopback, or behind a TLS-terminating
//! proxy) or over TLS, with the limits a server on a real network needs. Nobody may hold
//! the store with slow or idle connections: a request's head must arrive within
//! `header_timeout` (which also ends idle keep-alive connections), a whole request within
//! `request_timeout`, a TLS handshake within `handshake_timeout`; connections are capped in
//! all and per address, and a connection over a cap is closed at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::error::AppError;
use crate::tls::{TlsError, TlsFiles};

/// What a client may hold of the store, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once, in all.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_connections_per_address: usize,
    /// Time to send a request's head (also how long an idle HTTP/1 connection is kept).
    pub header_timeout: Duration,
    /// Time to send a whole request (head, body) and have it answered; streamed answers
    /// (audio, events) stream on.
    pub request_timeout: Duration,
    /// Time to finish a TLS handshake.
    pub handshake_timeout: Duration,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_address: 256,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How the store listens.
#[derive(Debug, Clone, Default)]
pub struct Listening {
    /// TLS, or plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The limits.
    pub limits: Limits,
}

/// Connections open now, in all and per address; a slot is given back when dropped.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

struct Slot {
    open: Arc<Mutex<Open>>,
    address: IpAddr,
}

impl Slot {
    fn take(open: &Arc<Mutex<Open>>, address: IpAddr, limits: &Limits) -> Option<Self> {
        let mut o = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = o.by_address.get(&address).copied().unwrap_or(0);
        if o.total >= limits.max_connections || mine >= limits.max_connections_per_address {
            return None;
        }
        o.total += 1;
        o.by_address.insert(address, mine + 1);
        Some(Self {
            open: Arc::clone(open),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut o = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        o.total = o.total.saturating_sub(1);
        if let Some(n) = o.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                o.by_address.remove(&self.address);
            }
        }
    }
}

/// Serves `router` on `listener` as `listening` says until `shutdown` completes. A
/// certificate that cannot be used is an error before anything is served.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    listening: Listening,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TlsError> {
    let (acceptor, reload) = match &listening.tls {
        Some(files) => {
            let (config, reload) = crate::tls::server_config(files)?;
            (
                Some(tokio_rustls::TlsAcceptor::from(config)),
                Some(tokio::spawn(reload)),
            )
        }
        None => (None, None),
    };
    let limits = Arc::new(listening.limits);
    let open = Arc::new(Mutex::new(Open::default()));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20))
        .max_concurrent_streams(128);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most often: wait for connections to close.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(slot) = Slot::take(&open, peer.ip(), &limits) else {
            tracing::debug!(%peer, "connection refused: too many open");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, limits, builder, acceptor) = (
            router.clone(),
            Arc::clone(&limits),
            Arc::clone(&builder),
            acceptor.clone(),
        );
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let timeout = limits.request_timeout;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move {
                    let response = tokio::time::timeout(timeout, router.oneshot(req))
                        .await
                        .unwrap_or_else(|_| Ok(request_timed_out(timeout).into_response()));
                    Ok::<_, Infallible>(response.unwrap_or_else(|e| match e {}))
                }
            });
            let served = match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => {
                            let conn =
                                builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                            watcher.watch(conn.into_owned()).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
                None => {
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    if let Some(reload) = reload {
        reload.abort();
    }
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("connections still open at shutdown were closed");
    }
    Ok(())
}

fn request_timed_out(after: Duration) -> AppError {
    AppError::client(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request was not sent and answered within {} s",
            after.as_secs()
        ),
    )
}

/// Whether `addr` reaches this machine only (loopback): plain HTTP there exposes nothing.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
