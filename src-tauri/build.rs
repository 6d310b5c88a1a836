//! Declares the app's own commands so capabilities can grant exactly those.

const COMMANDS: &[&str] = &[
    "sign_in",
    "sign_out",
    "set_rate",
    "test_devices",
    "recordings",
    "snapshot",
    "start_call",
    "accept_call",
    "intent",
    "end_call",
    "upload_now",
    "retry_upload",
    "devices",
    "set_devices",
    "history",
    "play",
    "receipts",
    "play_receipt",
    "connect_phone",
    "dial",
    "cancel_dial",
    "answer",
    "reject",
    "hold",
    "mute",
    "send_digits",
    "add_party",
    "transfer",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build step failed: {e:#}");
    }
}
