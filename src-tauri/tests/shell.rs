//! The shell's contract with the window, on tauri's mock runtime (no WebKit): every command
//! the UI invokes answers under the name and argument names the UI uses, and errors reach it
//! as `{kind, message}` it can tell apart. Against a real store on loopback and a real data
//! folder.

use serde_json::{Value, json};
use tauri::test::{get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;

const ADMIN: &str = "admin-password-1";

fn invoke_from(
    url: &str,

    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: url.parse().expect("url"),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("json answer"))
}

fn invoke(
    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    invoke_from("tauri://localhost", webview, cmd, args)
}

/// A store on loopback with project `sales` and agent `alice`; returns its URL.
fn store(runtime: &tokio::runtime::Runtime, dir: &std::path::Path) -> String {
    runtime.block_on(async {
        let state = callrec_server::AppState::open(&dir.join("store"), callrec_server::Options::default())
            .expect("store");
        callrec_server::auth::bootstrap_admin(&state, Some(ADMIN.into())).expect("admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(callrec_server::serve(listener, state, std::future::pending()));
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{url}/api/v1/login"))
            .json(&json!({"username": "admin", "password": ADMIN}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        let token = login["token"].as_str().expect("token").to_owned();
        for (path, body) in [
            ("/api/v1/projects", json!({"id": "sales", "name": "Sales", "kind": "contact_center", "record_mode": "both"})),
            ("/api/v1/users", json!({"username": "alice", "password": "password-123", "role": "agent", "projects": ["sales"]})),
        ] {
            let status = http
                .post(format!("{url}{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("create")
                .status();
            assert_eq!(status, reqwest::StatusCode::CREATED, "{path}");
        }
        url
    })
}

#[test]
fn every_command_the_window_uses_answers_and_errors_are_told_apart() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let url = store(&runtime, dir.path());
    let app =
        callrec_desktop::run_app(mock_builder(), Some(dir.path().join("agent"))).expect("app");
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("window");
    let call = |cmd: &str, args: Value| invoke(&webview, cmd, args);
    let kind = |answer: Result<Value, Value>| answer.expect_err("an error")["kind"].clone();

    // The capability grants the app's commands to its own pages only.
    let foreign = invoke_from("https://example.com", &webview, "snapshot", json!({}));
    assert!(
        foreign
            .as_ref()
            .is_err_and(|e| e.to_string().contains("not allowed")),
        "{foreign:?}"
    );

    let snapshot = call("snapshot", json!({})).expect("snapshot");
    assert_eq!(snapshot["user"], Value::Null);
    assert_eq!(snapshot["store"]["state"], "unknown");
    assert_eq!(snapshot["rate"], 16_000);
    assert_eq!(
        kind(call(
            "start_call",
            json!({"request": {"project": "sales", "contact": "c", "direction": "outbound", "consent": "not_asked"}})
        )),
        "not_signed_in"
    );

    let bad = call(
        "sign_in",
        json!({"server": url, "username": "alice", "password": "wrong"}),
    );
    assert_eq!(kind(bad.clone()), "store");
    assert!(
        bad.expect_err("refused")["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(
        call(
            "sign_in",
            json!({"server": url, "username": "alice", "password": "password-123"})
        ),
        Ok(json!("alice"))
    );
    let snapshot = call("snapshot", json!({})).expect("snapshot");
    assert_eq!(
        (snapshot["user"].clone(), snapshot["role"].clone()),
        (json!("alice"), json!("agent"))
    );
    assert_eq!(snapshot["store"]["state"], "online");

    // Settings: the rate is checked and kept; devices are chosen by name.
    let refused = call("set_rate", json!({"rate": 12_345})).expect_err("refused");
    assert_eq!(refused["kind"], "invalid_rate");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("8000, 16000")),
        "{refused}"
    );
    call("set_rate", json!({"rate": 8_000})).expect("rate");
    assert_eq!(
        call("snapshot", json!({})).expect("snapshot")["rate"],
        8_000
    );
    call("set_devices", json!({"mic": null, "call": "some device"})).expect("devices");
    let devices = call("devices", json!({})).expect("devices");
    assert_eq!(
        (devices["mic"].clone(), devices["call"].clone()),
        (Value::Null, json!("some device"))
    );
    assert!(devices["inputs"].is_array());

    // Intents without a call, ids that are not ids: each error says which.
    assert_eq!(
        kind(call("intent", json!({"intent": {"intent": "pause"}}))),
        "no_call"
    );
    assert_eq!(kind(call("end_call", json!({}))), "no_call");
    let not_id = call("retry_upload", json!({"callId": "nope"})).expect_err("invalid");
    assert_eq!(not_id["kind"], "invalid");
    assert!(
        not_id["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"nope\" is not a call id"))
    );
    assert_eq!(kind(call("play", json!({"id": "nope"}))), "invalid");
    assert_eq!(
        kind(call(
            "play",
            json!({"id": "0190a0b2-0000-7000-8000-000000000000"})
        )),
        "recording_unavailable"
    );

    // The store's views answer in the shapes the window reads.
    assert_eq!(
        call("recordings", json!({"query": {"agent": "alice"}})),
        Ok(json!({"items": [], "next_cursor": null}))
    );
    assert_eq!(
        call("history", json!({"contact": "+358401234567"})),
        Ok(json!([]))
    );
    assert_eq!(
        call("upload_now", json!({})).map(|r| r["pending"].clone()),
        Ok(json!(0))
    );

    // The softphone: refused while not set up, an unusable address refused in words, then
    // set up on loopback; its controls without a call say so.
    let dial = |to: &str| {
        call(
            "dial",
            json!({"to": to, "request": {"project": "sales", "contact": null, "direction": "outbound", "consent": "not_asked"}}),
        )
    };
    let off = dial("sip:bob@127.0.0.1:5070").expect_err("no phone");
    assert_eq!(off["kind"], "phone");
    assert!(
        off["message"]
            .as_str()
            .is_some_and(|m| m.contains("set up the SIP account")),
        "{off}"
    );
    let unspecified = call(
        "connect_phone",
        json!({"account": {"listen": "0.0.0.0:5062", "registrar": null, "user": null, "password": null}}),
    )
    .expect_err("0.0.0.0");
    assert!(
        unspecified["message"]
            .as_str()
            .is_some_and(|m| m.contains("0.0.0.0 cannot be announced")),
        "{unspecified}"
    );
    let phone = call(
        "connect_phone",
        json!({"account": {"listen": "127.0.0.1:0", "registrar": null, "user": null, "password": null}}),
    )
    .expect("phone");
    assert!(
        phone["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{phone}"
    );
    assert_eq!(
        call("snapshot", json!({})).expect("snapshot")["phone"]["ringing"],
        Value::Null
    );
    let bare = dial("4711").expect_err("a number without a registrar");
    assert!(
        bare["message"]
            .as_str()
            .is_some_and(|m| m.contains("numbers need a registrar")),
        "{bare}"
    );
    for (cmd, args) in [
        ("hold", json!({"held": true})),
        ("mute", json!({"muted": true})),
        ("send_digits", json!({"digits": "1"})),
        ("add_party", json!({"to": "sip:carol@127.0.0.1:5071"})),
        ("transfer", json!({"to": "sip:carol@127.0.0.1:5071"})),
        (
            "answer",
            json!({"request": {"project": "sales", "contact": null, "direction": "inbound", "consent": "not_asked"}}),
        ),
        ("reject", json!({})),
        ("cancel_dial", json!({})),
    ] {
        assert_eq!(kind(call(cmd, args)), "no_call", "{cmd}");
    }

    call("sign_out", json!({})).expect("sign out");
    assert_eq!(
        call("snapshot", json!({})).expect("snapshot")["user"],
        Value::Null
    );
    assert_eq!(
        kind(call("history", json!({"contact": "c"}))),
        "not_signed_in"
    );
}
