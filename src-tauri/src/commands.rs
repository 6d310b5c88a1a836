//! The commands the window invokes: each forwards to the session and maps its error.

use callrec_agent::{
    Audio, CallRequest, CallView, Intent, PhoneAudio, PhoneView, SipAccount, Snapshot, UploadReport,
};
use callrec_protocol::IncomingCall;
use serde::Serialize;
use tauri::State;

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

fn audio(state: &AppState) -> Audio {
    let (mic, call) = state.devices.lock().map(|d| d.clone()).unwrap_or_default();
    Audio::Devices { mic, call }
}

/// Signs in to the central store.
#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    server: String,
    username: String,
    password: String,
) -> CommandResult<String> {
    Ok(state
        .session
        .sign_in(&server, &username, &password)
        .await?
        .username)
}

/// Signs out (not during a call); queued recordings stay queued.
#[tauri::command]
pub fn sign_out(state: State<'_, AppState>) -> CommandResult<()> {
    Ok(state.session.sign_out()?)
}

/// Chooses the recording rate of the next calls.
#[tauri::command]
pub fn set_rate(state: State<'_, AppState>, rate: u32) -> CommandResult<()> {
    Ok(state.session.set_rate(rate)?)
}

/// Starts (`on`) or stops metering the chosen devices outside a call.
#[tauri::command]
pub fn test_devices(state: State<'_, AppState>, on: bool) -> CommandResult<()> {
    let devices = on.then(|| state.devices.lock().map(|d| d.clone()).unwrap_or_default());
    Ok(state.session.test_devices(devices)?)
}

/// Recordings the user may hear, filtered (the supervisors' view).
#[tauri::command]
pub async fn recordings(
    state: State<'_, AppState>,
    query: callrec_protocol::RecordingQuery,
) -> CommandResult<callrec_protocol::RecordingList> {
    Ok(state.session.recordings(&query).await?)
}

/// The session as the window shows it.
#[tauri::command]
pub fn snapshot(state: State<'_, AppState>) -> CommandResult<Snapshot> {
    Ok(state.session.snapshot()?)
}

/// Starts an outbound call.
#[tauri::command]
pub async fn start_call(
    state: State<'_, AppState>,
    request: CallRequest,
) -> CommandResult<CallView> {
    let audio = audio(&state);
    Ok(state.session.start_call(request, audio).await?)
}

/// Accepts a call the platform offered.
#[tauri::command]
pub async fn accept_call(
    state: State<'_, AppState>,
    call: IncomingCall,
) -> CommandResult<CallView> {
    let audio = audio(&state);
    Ok(state.session.accept_call(&call, audio).await?)
}

/// The engine's answer to an agent's action.
#[derive(Debug, Serialize)]
pub struct IntentAnswer {
    accepted: bool,
    reason: Option<callrec_policy::Reason>,
    message: Option<&'static str>,
}

/// Applies an agent's action (customer toggle, pause, resume, receipts).
#[tauri::command]
pub fn intent(state: State<'_, AppState>, intent: Intent) -> CommandResult<IntentAnswer> {
    Ok(match state.session.intent(intent)? {
        Ok(()) => IntentAnswer {
            accepted: true,
            reason: None,
            message: None,
        },
        Err(r) => IntentAnswer {
            accepted: false,
            reason: Some(r.reason),
            message: Some(r.reason.message()),
        },
    })
}

/// Hangs up: the recording is completed and queued. Completing it waits for its last
/// frames (a fraction of a second), off the window's thread and the runtime the legs run on.
#[tauri::command]
pub async fn end_call(state: State<'_, AppState>) -> CommandResult<()> {
    let session = state.session.clone();
    tauri::async_runtime::spawn_blocking(move || session.end_call())
        .await
        .map_err(|e| CommandError {
            kind: "internal",
            message: format!("completing the recording: {e}"),
        })??;
    Ok(())
}

/// Uploads everything pending now.
#[tauri::command]
pub async fn upload_now(state: State<'_, AppState>) -> CommandResult<UploadReport> {
    Ok(state.session.upload_once(true).await?)
}

/// Tries one recording's upload again now.
#[tauri::command]
pub async fn retry_upload(
    state: State<'_, AppState>,
    call_id: String,
) -> CommandResult<UploadReport> {
    let id = call_id.parse().map_err(|_| CommandError {
        kind: "invalid",
        message: format!("{call_id:?} is not a call id"),
    })?;
    state.session.retry_upload(id)?;
    Ok(state.session.upload_once(false).await?)
}

/// An input device for the settings page.
#[derive(Debug, Serialize)]
pub struct Device {
    name: String,
    default: bool,
}

/// The machine's inputs and the ones chosen now.
#[derive(Debug, Serialize)]
pub struct Devices {
    inputs: Vec<Device>,
    /// The microphone in use from the next call (`None`: the system default).
    mic: Option<String>,
    /// The call audio.
    call: Option<String>,
}

/// The input devices, and the chosen ones (from the settings, or `CALLREC_MIC` and
/// `CALLREC_CALL_AUDIO`).
#[tauri::command]
pub fn devices(state: State<'_, AppState>) -> CommandResult<Devices> {
    let (mic, call) = state.devices.lock().map(|d| d.clone()).unwrap_or_default();
    let inputs = callrec_audio::list_input_devices()?
        .into_iter()
        .map(|d| Device {
            name: d.name,
            default: d.is_default,
        })
        .collect();
    Ok(Devices { inputs, mic, call })
}

/// Chooses the microphone and the call-audio device (`null`: the system default).
#[tauri::command]
pub fn set_devices(
    state: State<'_, AppState>,
    mic: Option<String>,
    call: Option<String>,
) -> CommandResult<()> {
    let mut devices = state.devices.lock().map_err(|_| CommandError {
        kind: "internal",
        message: "state lock poisoned".into(),
    })?;
    *devices = (mic, call);
    Ok(())
}

/// A contact's call history; each call says whether this agent may play it.
#[tauri::command]
pub async fn history(
    state: State<'_, AppState>,
    contact: String,
) -> CommandResult<Vec<callrec_protocol::HistoryEntry>> {
    Ok(state.session.history(&contact).await?)
}

/// A recording's audio for the in-app player (the store refuses what the agent may not hear).
#[tauri::command]
pub async fn play(state: State<'_, AppState>, id: String) -> CommandResult<tauri::ipc::Response> {
    let id = id.parse().map_err(|_| CommandError {
        kind: "invalid",
        message: format!("{id:?} is not a recording id"),
    })?;
    Ok(tauri::ipc::Response::new(
        state.session.recording_audio(id).await?,
    ))
}

/// Voice receipts this user may hear: a contact's (the contact card), an order's.
#[tauri::command]
pub async fn receipts(
    state: State<'_, AppState>,
    query: callrec_protocol::ReceiptQuery,
) -> CommandResult<callrec_protocol::ReceiptList> {
    Ok(state.session.receipts(&query).await?)
}

/// A voice receipt's audio for the in-app player, on its own.
#[tauri::command]
pub async fn play_receipt(
    state: State<'_, AppState>,
    id: String,
) -> CommandResult<tauri::ipc::Response> {
    let id = id.parse().map_err(|_| CommandError {
        kind: "invalid",
        message: format!("{id:?} is not a voice receipt id"),
    })?;
    Ok(tauri::ipc::Response::new(
        state.session.receipt_audio(id).await?,
    ))
}

fn phone_audio(state: &AppState) -> PhoneAudio {
    let (mic, _) = state.devices.lock().map(|d| d.clone()).unwrap_or_default();
    let headset = state.headset.lock().map(|h| h.clone()).unwrap_or_default();
    PhoneAudio::Devices { mic, headset }
}

/// Sets up the softphone with a SIP account (binds, registers, listens for calls).
#[tauri::command]
pub async fn connect_phone(
    state: State<'_, AppState>,
    account: SipAccount,
) -> CommandResult<PhoneView> {
    Ok(state.session.connect_phone(account).await?)
}

/// Places a softphone call to a SIP address or a number.
#[tauri::command]
pub async fn dial(
    state: State<'_, AppState>,
    to: String,
    request: CallRequest,
) -> CommandResult<CallView> {
    let audio = phone_audio(&state);
    Ok(state.session.dial(&to, request, audio).await?)
}

/// Calls off the call that rings.
#[tauri::command]
pub fn cancel_dial(state: State<'_, AppState>) -> CommandResult<()> {
    Ok(state.session.cancel_dial()?)
}

/// Answers the ringing softphone call.
#[tauri::command]
pub async fn answer(state: State<'_, AppState>, request: CallRequest) -> CommandResult<CallView> {
    let audio = phone_audio(&state);
    Ok(state.session.answer(request, audio).await?)
}

/// Refuses the ringing softphone call.
#[tauri::command]
pub fn reject(state: State<'_, AppState>) -> CommandResult<()> {
    Ok(state.session.reject()?)
}

/// Holds or resumes the customer.
#[tauri::command]
pub async fn hold(state: State<'_, AppState>, held: bool) -> CommandResult<()> {
    Ok(state.session.hold(held).await?)
}

/// Mutes or unmutes the microphone (the call is still recorded).
#[tauri::command]
pub fn mute(state: State<'_, AppState>, muted: bool) -> CommandResult<()> {
    Ok(state.session.mute(muted)?)
}

/// Sends keypad digits to the customer, or to a party (its id) when `party` is given.
#[tauri::command]
pub fn send_digits(
    state: State<'_, AppState>,
    digits: String,
    party: Option<String>,
) -> CommandResult<()> {
    Ok(state.session.send_digits(&digits, party.as_deref())?)
}

/// Calls a third party into the call; returns its id.
#[tauri::command]
pub async fn add_party(state: State<'_, AppState>, to: String) -> CommandResult<String> {
    Ok(state.session.add_party(&to).await?)
}

/// Transfers the customer (blind transfer); the call ends once it went through.
#[tauri::command]
pub async fn transfer(state: State<'_, AppState>, to: String) -> CommandResult<()> {
    Ok(state.session.transfer(&to).await?)
}
