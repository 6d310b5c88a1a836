//! `callrec server` as a process on a real network stack: where it may listen in clear, what
//! it prints and when, and that a flood of logins or of idle connections neither grows its
//! memory nor locks out the people who sign in.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const ADMIN: &str = "admin-password-1";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// `callrec server` with `args`, in `dir`, through `sh -c` when `prefix` is given (e.g. a
/// ulimit); stdout and stderr piped.
fn spawn(dir: &Path, args: &[&str], admin: Option<&str>, prefix: Option<&str>) -> Child {
    let bin = env!("CARGO_BIN_EXE_callrec");
    let mut command = match prefix {
        Some(prefix) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{prefix}; exec \"$0\" \"$@\""))
                .arg(bin);
            c
        }
        None => Command::new(bin),
    };
    command
        .arg("server")
        .arg("--data")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("CALLREC_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(password) = admin {
        command.env("CALLREC_ADMIN_PASSWORD", password);
    }
    command.spawn().expect("callrec server")
}

/// The lines a running server printed on stdout until it said where it listens.
fn until_listening(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let done = line.starts_with("listening on ");
        lines.push(line);
        if done {
            return lines;
        }
    }
    panic!("the server never said it listens: {lines:?}");
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn plain_http_is_refused_off_loopback_unless_asked_for_and_tls_is_served() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = spawn(tmp.path(), &["--listen", "0.0.0.0:0"], Some(ADMIN), None)
        .wait_with_output()
        .expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--tls-cert FILE --tls-key FILE") && stderr.contains("--insecure-http"),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("data").exists(),
        "nothing is made for a store that does not start"
    );

    let port = free_port();
    let mut server = spawn(
        tmp.path(),
        &["--listen", &format!("0.0.0.0:{port}"), "--insecure-http"],
        Some(ADMIN),
        None,
    );
    let said = until_listening(&mut server);
    let _running = Running(server);
    assert_eq!(
        said.last().map(String::as_str),
        Some(
            format!("listening on http://0.0.0.0:{port}, console at http://0.0.0.0:{port}/admin")
                .as_str()
        )
    );
}

#[test]
fn callrec_login_refuses_plain_http_off_this_machine_unless_told_insecure_http() {
    let tmp = tempfile::tempdir().expect("tmp");
    let login = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_callrec"))
            .args([
                "login",
                "--server",
                "http://store.invalid:8640",
                "--user",
                "alice",
            ])
            .args(extra)
            .env("CALLREC_DATA", tmp.path().join("agent"))
            .env("CALLREC_PASSWORD", "password-123")
            .env_remove("CALLREC_INSECURE_HTTP")
            .output()
            .expect("callrec login")
    };
    let refused = login(&[]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains(
            "plain http:// would send passwords and recordings across the network unencrypted"
        ) && said.contains("--insecure-http"),
        "{said}"
    );
    // Told so, it tries the link (and fails on the name, which does not exist).
    let tried = login(&["--insecure-http"]);
    assert!(!tried.status.success());
    let said = String::from_utf8_lossy(&tried.stderr);
    assert!(!said.contains("unencrypted"), "{said}");
}

#[test]
fn the_store_serves_tls_from_the_files_given() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ca = callrec_e2e::tls::make(&tmp.path().join("tls"), "store");
    let port = free_port();
    let cert = ca.cert.to_string_lossy().into_owned();
    let key = ca.key.to_string_lossy().into_owned();
    let mut server = spawn(
        tmp.path(),
        &[
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
        Some(ADMIN),
        None,
    );
    let said = until_listening(&mut server);
    let _running = Running(server);
    assert_eq!(
        said.last().map(String::as_str),
        Some(
            format!(
                "listening on https://127.0.0.1:{port}, console at https://127.0.0.1:{port}/admin"
            )
            .as_str()
        )
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let transport = callrec_uploader::Transport {
        ca: Some(ca.ca.clone()),
        insecure_http: false,
    };
    let client =
        callrec_uploader::Client::with_transport(&format!("https://localhost:{port}"), &transport)
            .expect("client");
    let login = runtime
        .block_on(client.login("admin", ADMIN))
        .expect("login over TLS");
    assert_eq!(login.user.username, "admin");
    // A key that is not the certificate's: refused before anything listens.
    let other = callrec_e2e::tls::make(&tmp.path().join("other"), "other");
    let out = spawn(
        tmp.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &other.key.to_string_lossy(),
        ],
        Some(ADMIN),
        None,
    )
    .wait_with_output()
    .expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not go with"), "{stderr}");
}

#[test]
fn the_first_admins_password_is_shown_once_the_store_listens() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A busy port: the store does not start, and no password is shown (it would be lost).
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let out = spawn(
        tmp.path(),
        &["--listen", &format!("127.0.0.1:{port}")],
        None,
        None,
    )
    .wait_with_output()
    .expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("password"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("cannot listen on 127.0.0.1:{port}"))
    );
    drop(busy);
    // A host name is taken; the next start shows the password once it listens.
    let port = free_port();
    let mut server = spawn(
        tmp.path(),
        &["--listen", &format!("localhost:{port}")],
        None,
        None,
    );
    let said = until_listening(&mut server);
    let _running = Running(server);
    let password = said
        .iter()
        .find_map(|l| l.strip_prefix("created user admin with password "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the password is shown");
    assert!(
        said.last()
            .is_some_and(|l| l.contains(&format!(":{port}, console at "))),
        "{said:?}"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client =
        callrec_uploader::Client::new(&format!("http://127.0.0.1:{port}")).expect("client");
    runtime
        .block_on(client.login("admin", password))
        .expect("the password shown signs in");
    // Too short a password for the first admin is refused.
    let other = tempfile::tempdir().expect("tmp");
    let out = spawn(
        other.path(),
        &["--listen", "127.0.0.1:0"],
        Some("short"),
        None,
    )
    .wait_with_output()
    .expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("CALLREC_ADMIN_PASSWORD: at least 12 characters")
    );
}

/// The peak resident memory of process `pid` (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

#[test]
fn a_flood_of_logins_from_many_addresses_does_not_grow_the_stores_memory() {
    let tmp = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let mut server = spawn(
        tmp.path(),
        &["--listen", &format!("127.0.0.1:{port}")],
        Some(ADMIN),
        None,
    );
    until_listening(&mut server);
    let pid = server.id();
    let _running = Running(server);
    let before = peak_rss(pid);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // 32 clients at once, each from its own address and with its own names, so none is
    // held back: every login is a password check.
    let checked = runtime.block_on(async {
        let mut tasks = Vec::new();
        for client in 0..32u8 {
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, client + 1)))
                    .build()
                    .expect("client");
                let mut refused = 0;
                for attempt in 0..6 {
                    let resp = http
                        .post(format!("http://127.0.0.1:{port}/api/v1/login"))
                        .json(&json!({"username": format!("user{client}-{attempt}"), "password": "guess"}))
                        .send()
                        .await
                        .expect("send");
                    refused += u32::from(resp.status() == reqwest::StatusCode::UNAUTHORIZED);
                }
                refused
            }));
        }
        let mut n = 0;
        for t in tasks {
            n += t.await.expect("task");
        }
        n
    });
    assert_eq!(checked, 192, "every login was checked and refused");
    let grown = peak_rss(pid).saturating_sub(before);
    // Before: 32 checks of 19 MiB at once took the store from 21 MB to 4 GB.
    assert!(
        grown < 160 << 20,
        "the store's peak memory grew by {} MiB",
        grown >> 20
    );
}

#[test]
fn hundreds_of_idle_connections_from_one_address_do_not_lock_out_a_login() {
    let tmp = tempfile::tempdir().expect("tmp");
    let port = free_port();
    // As few file descriptors as a default desktop limit, halved.
    let mut server = spawn(
        tmp.path(),
        &["--listen", &format!("127.0.0.1:{port}")],
        Some(ADMIN),
        Some("ulimit -n 512"),
    );
    until_listening(&mut server);
    let _running = Running(server);
    let target: SocketAddr = ([127, 0, 0, 1], port).into();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _idle = runtime.block_on(async {
        use tokio::io::AsyncWriteExt;
        let mut idle = Vec::new();
        for _ in 0..600 {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(SocketAddr::from(([127, 0, 0, 2], 0)))
                .expect("bind");
            if let Ok(mut stream) = socket.connect(target).await {
                let _ = stream
                    .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: store\r\n")
                    .await;
                idle.push(stream);
            }
        }
        idle
    });
    let started = Instant::now();
    let client =
        callrec_uploader::Client::new(&format!("http://127.0.0.1:{port}")).expect("client");
    runtime
        .block_on(client.login("admin", ADMIN))
        .expect("a login while 600 connections idle");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[test]
fn the_stores_and_the_agents_files_are_their_users_alone_and_the_token_is_not_in_the_database() {
    let tmp = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let mut server = spawn(
        tmp.path(),
        &["--listen", &format!("127.0.0.1:{port}")],
        Some(ADMIN),
        None,
    );
    until_listening(&mut server);
    let _running = Running(server);
    let data = tmp.path().join("data");
    assert_eq!(mode(&data), 0o700, "the store's data folder");
    assert_eq!(
        mode(&data.join("callrec.db")),
        0o600,
        "the store's database"
    );

    let home = tmp.path().join("agent");
    let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args([
            "login",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--user",
            "admin",
        ])
        .env("CALLREC_DATA", &home)
        .env("CALLREC_PASSWORD", ADMIN)
        // No secret store answers here: the token goes in its own file.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .expect("callrec login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&home), 0o700, "the agent's data folder");
    assert_eq!(
        mode(&home.join("callrec.db")),
        0o600,
        "the agent's database"
    );
    let token_file = home.join("session.token");
    assert_eq!(mode(&token_file), 0o600, "the session's token");
    let token = std::fs::read_to_string(&token_file).expect("token");
    assert_eq!(token.len(), 64);
    for db in ["callrec.db", "callrec.db-wal"] {
        let bytes = std::fs::read(home.join(db)).unwrap_or_default();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{db} holds the token"
        );
    }
}

#[test]
fn where_a_secret_service_answers_the_token_is_kept_there_and_in_no_file() {
    use callrec_e2e::sip::have;
    if !have("dbus-run-session") || !have("gnome-keyring-daemon") || !have("secret-tool") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let mut server = spawn(
        tmp.path(),
        &["--listen", &format!("127.0.0.1:{port}")],
        Some(ADMIN),
        None,
    );
    until_listening(&mut server);
    let _running = Running(server);
    let home = tmp.path().join("agent");
    // A desktop session's bus and keyring, unlocked as at a desktop login.
    let script = r#"
        printf "keyring-password" | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null || exit 3
        "$0" login --server "$1" --user admin || exit 4
        secret-tool lookup service callrec > "$2/from-keyring" || exit 5
    "#;
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script, env!("CARGO_BIN_EXE_callrec")])
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(tmp.path())
        .env("HOME", tmp.path())
        .env("XDG_RUNTIME_DIR", tmp.path())
        .env("CALLREC_DATA", &home)
        .env("CALLREC_PASSWORD", ADMIN)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("dbus-run-session");
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let token = std::fs::read_to_string(tmp.path().join("from-keyring")).expect("looked up");
    assert_eq!(
        token.trim().len(),
        64,
        "the session's token is in the keyring"
    );
    assert!(!home.join("session.token").exists(), "and in no file");
    let db = std::fs::read(home.join("callrec.db")).expect("db");
    assert!(!db.windows(64).any(|w| w == token.trim().as_bytes()));
}
