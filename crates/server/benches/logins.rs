//! A login flood (`cargo bench -p callrec-server --bench logins`; not run by CI): 1,000 wrong
//! logins from 64 concurrent clients, each client its own address (127.0.2.x) and some of
//! them guessing the real user's password. Reports how many were checked, held back (429)
//! or turned away busy (503), the store's peak RSS, and how long the real user waits before
//! signing in with the right password.
//!
//! The store runs in this process over real loopback connections; the peak RSS is the
//! process's (the 64 clients add a few MiB).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use callrec_policy::Role;
use callrec_server::auth::{bootstrap_admin, hash_password};
use callrec_server::db::User;
use callrec_server::{AppState, Options};
use reqwest::StatusCode;
use serde_json::json;

const CLIENTS: u8 = 64;
const LOGINS: usize = 1_000;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(dir.path(), Options::default()).unwrap();
    bootstrap_admin(&state, Some("admin-password-1".into())).unwrap();
    state
        .db()
        .insert_user(&User {
            id: "alice".into(),
            username: "alice".into(),
            password_hash: hash_password("the-right-password").unwrap(),
            role: Role::Agent,
            projects: vec![],
        })
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serving = state.clone();
    tokio::spawn(async move {
        let _ = callrec_server::serve(listener, serving, std::future::pending()).await;
    });
    let before = peak_rss_mib();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 2, client + 1)))
                .build()
                .unwrap();
            let mut counts = [0usize; 3];
            let mut i = usize::from(client);
            while i < LOGINS {
                // Every fourth guess is at the real user; the rest at names that may exist.
                let name = if i % 4 == 0 {
                    "alice".to_owned()
                } else {
                    format!("user{i}")
                };
                let resp = http
                    .post(format!("{base}/api/v1/login"))
                    .json(&json!({"username": name, "password": format!("guess-{i}")}))
                    .send()
                    .await
                    .unwrap();
                match resp.status() {
                    StatusCode::UNAUTHORIZED => counts[0] += 1,
                    StatusCode::TOO_MANY_REQUESTS => counts[1] += 1,
                    StatusCode::SERVICE_UNAVAILABLE => counts[2] += 1,
                    other => panic!("unexpected {other}"),
                }
                i += usize::from(CLIENTS);
            }
            counts
        }));
    }
    let mut totals = [0usize; 3];
    for t in tasks {
        let c = t.await.unwrap();
        for k in 0..3 {
            totals[k] += c[k];
        }
    }
    let flood = started.elapsed();
    let peak = peak_rss_mib();
    println!(
        "{LOGINS} wrong logins from {CLIENTS} concurrent clients (own addresses) in {:.1} s:",
        flood.as_secs_f64()
    );
    println!(
        "  checked and refused (401): {}, held back (429): {}, busy (503): {}",
        totals[0], totals[1], totals[2]
    );
    println!("  peak RSS: {before:.0} MiB before, {peak:.0} MiB after");

    // The real user, from the office's own address, with the right password.
    let http = reqwest::Client::new();
    let waited = Instant::now();
    loop {
        let resp = http
            .post(format!("{base}/api/v1/login"))
            .json(&json!({"username": "alice", "password": "the-right-password"}))
            .send()
            .await
            .unwrap();
        match resp.status() {
            StatusCode::OK => break,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: u64 = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap();
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    println!(
        "  the real user signed in after {:.1} s of backoff",
        waited.elapsed().as_secs_f64()
    );
}
