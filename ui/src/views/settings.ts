// Settings: devices (with a live test), recording rate, pause reminder, softphone, store.

import { act, invoke, noticeHtml, pauseWarningMs, refresh, say, ui, type Device } from "../app";
import { esc, rateLabel } from "../text";
import type { DeviceLevel, Snapshot } from "../types";
import { meter } from "./call";

interface Devices { inputs: Device[]; mic: string | null; call: string | null }

/// The device pickers: the machine's inputs, the choice kept for the next start (the
/// window's own choice, else what the app was started with).
async function fillDevices() {
  if (ui.devices === null) {
    const found = await invoke<Devices>("devices").catch(() => ({ inputs: [], mic: null, call: null }));
    ui.devices = found.inputs;
    const mic = localStorage.getItem("mic");
    const callAudio = localStorage.getItem("callAudio");
    if (mic !== null || callAudio !== null) await invoke("set_devices", { mic: mic || null, call: callAudio || null }).catch(() => {});
    if (mic === null && found.mic) localStorage.setItem("mic", found.mic);
    if (callAudio === null && found.call) localStorage.setItem("callAudio", found.call);
  }
  for (const [id, key] of [["mic-device", "mic"], ["call-device", "callAudio"]] as const) {
    const select = document.getElementById(id) as HTMLSelectElement | null;
    if (!select || select.options.length) continue;
    const chosen = localStorage.getItem(key) ?? "";
    select.innerHTML = `<option value="">System default</option>` + ui.devices.map((d) => `<option value="${esc(d.name)}"${d.name === chosen ? " selected" : ""}>${esc(d.name)}${d.default ? " (default)" : ""}</option>`).join("");
    select.addEventListener("change", async () => {
      localStorage.setItem(key, select.value);
      const mic = (document.getElementById("mic-device") as HTMLSelectElement).value;
      const call = (document.getElementById("call-device") as HTMLSelectElement).value;
      await act("devices", () => invoke("set_devices", { mic: mic || null, call: call || null }));
      // A running test follows the new choice.
      if (ui.snapshot?.device_test) await act("devices", () => invoke("test_devices", { on: true }));
    });
  }
}

function deviceLevel(id: string, title: string, d: DeviceLevel): string {
  return `<div class="device-level" id="${id}"><strong>${esc(title)}</strong> <span class="muted">${esc(d.device ?? "")}</span>
    ${d.error ? `<p class="alert">${esc(d.error)}</p>` : meter(`${title} test level`, d.level)}</div>`;
}

export function renderSettings(s: Snapshot): string {
  const inCall = s.call !== null;
  const test = s.device_test;
  const notInCall = inCall ? '<p class="reason">Not during a call: the call is using the devices.</p>' : "";
  return `<h1>Settings</h1>
    <section class="card" id="settings">
      <h2>Audio devices</h2>
      <div class="field"><label for="mic-device">Microphone</label><select id="mic-device"></select></div>
      <div class="field"><label for="call-device">Call audio (e.g. the monitor of the headset output)</label><select id="call-device"></select></div>
      <p class="muted">Used from the next call on.</p>
      <div class="actions">${test
        ? '<button type="button" id="test-stop">Stop the test</button>'
        : `<button type="button" id="test-start"${inCall ? " disabled" : ""}>Test devices</button>`}</div>
      ${notInCall}
      ${test ? `<div id="device-test"><p class="muted">Speak into the microphone and play something through the call audio: each bar should move. Nothing is recorded.</p>
        ${deviceLevel("test-mic", "Microphone", test.mic)}${deviceLevel("test-call", "Call audio", test.call)}</div>` : ""}
      ${noticeHtml("devices")}
    </section>
    <section class="card">
      <h2>Recording</h2>
      <div class="field"><label for="rate">Recording rate</label><select id="rate">${s.rates.map((r) => `<option value="${r}"${r === s.rate ? " selected" : ""}>${esc(rateLabel(r))}</option>`).join("")}</select></div>
      <p class="muted">Used from the next call on.</p>
      <div class="field"><label for="pause-warning-s">Remind me to resume after a pause of (seconds)</label><input id="pause-warning-s" type="number" min="10" max="3600" value="${Math.round(pauseWarningMs() / 1000)}"></div>
      ${noticeHtml("recording")}
    </section>
    <section class="card" id="softphone">
      <h2>Softphone (SIP)</h2>
      ${s.phone ? `<p id="phone-status">Listening on <code>${esc(s.phone.address)}</code>${s.phone.registration ? ` · ${esc(s.phone.registration)}` : " · direct calls, no registrar"}.</p>` : '<p class="muted" id="phone-status">Not set up: calls use an external phone, recorded from the capture devices above.</p>'}
      <form id="sip-account">
        <div class="field"><label for="sip-listen">This computer's SIP address (IP:port peers reach)</label><input id="sip-listen" placeholder="192.0.2.10:5062" value="${esc(localStorage.getItem("sipListen") ?? "")}" required></div>
        <div class="field"><label for="sip-registrar">Registrar (optional)</label><input id="sip-registrar" placeholder="sip:pbx.example:5060" value="${esc(localStorage.getItem("sipRegistrar") ?? "")}"></div>
        <div class="field"><label for="sip-user">SIP user name</label><input id="sip-user" autocomplete="username" value="${esc(localStorage.getItem("sipUser") ?? "")}"></div>
        <div class="field"><label for="sip-password">SIP password (kept in memory only)</label><input id="sip-password" type="password" autocomplete="current-password"></div>
        <button type="submit"${inCall ? " disabled" : ""}>${s.phone ? "Reconnect" : "Connect"}</button>
      </form>
      ${noticeHtml("sip")}
    </section>
    <section class="card">
      <h2>Central store</h2>
      <p>Signed in as <strong id="whoami">${esc(s.user ?? "")}</strong> (${esc(s.role ?? "")}) at <code id="server-address">${esc(s.server ?? "")}</code>.</p>
      <button type="button" id="sign-out"${inCall ? " disabled" : ""}>Sign out</button>
      ${inCall ? '<p class="reason">Not during a call.</p>' : '<p class="muted">To use another store, sign out and sign in there. Recordings waiting for this store must upload first.</p>'}
      ${noticeHtml("settings")}
    </section>`;
}

export function wireSettings() {
  void fillDevices();
  document.getElementById("test-start")?.addEventListener("click", async () => { await act("devices", () => invoke("test_devices", { on: true })); await refresh(); });
  document.getElementById("test-stop")?.addEventListener("click", async () => { await act("devices", () => invoke("test_devices", { on: false })); await refresh(); });
  document.getElementById("rate")?.addEventListener("change", async (ev) => {
    await act("recording", () => invoke("set_rate", { rate: Number((ev.target as HTMLSelectElement).value) }));
    await refresh();
  });
  document.getElementById("pause-warning-s")?.addEventListener("change", (ev) => {
    const seconds = Number((ev.target as HTMLInputElement).value);
    if (!Number.isFinite(seconds) || seconds < 10 || seconds > 3600) {
      say("recording", { kind: "alert", text: "The pause reminder takes 10 to 3600 seconds." });
      return;
    }
    localStorage.setItem("pauseWarningMs", String(seconds * 1000));
  });
  document.getElementById("sip-account")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
    localStorage.setItem("sipListen", value("sip-listen"));
    localStorage.setItem("sipRegistrar", value("sip-registrar"));
    localStorage.setItem("sipUser", value("sip-user"));
    const account = { listen: value("sip-listen"), registrar: value("sip-registrar") || null, user: value("sip-user") || null, password: value("sip-password") || null };
    await act("sip", () => invoke("connect_phone", { account }));
    await refresh();
  });
  document.getElementById("sign-out")?.addEventListener("click", async () => {
    await act("settings", () => invoke("sign_out"));
    ui.card = null;
    ui.search = null;
    await refresh();
  });
}

// ---- The frame: header, banners, tabs -----------------------------------------------------
