// The call: the call bar, each side's state, the policy's controls, the receipts.

import { act, invoke, noticeHtml, pauseWarningMs, refresh, render, say, ui } from "../app";
import { deviceHealthText, esc, formatTimer, sideWhy, warningText } from "../text";
import type { CallView, Control, DeviceHealth, Intent, IntentAnswer, SideStatus } from "../types";
import { contactCard, loadHistory } from "./contact";
import { phoneHtml, wirePhone } from "./phone";

export function meter(label: string, level: [number, number]): string {
  return `<div class="meter" role="meter" aria-label="${esc(label)}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${Math.round(Math.min(1, level[1]) * 100)}"><div style="width:${Math.min(100, level[1] * 100).toFixed(0)}%"></div></div>`;
}

export function side(title: string, s: SideStatus, level?: [number, number], device?: [string, DeviceHealth | null]): string {
  const health = device ? deviceHealthText(device[0], device[1]) : null;
  return `<div class="side ${s.recorded ? "on" : "off"}" data-side="${esc(title.toLowerCase())}">
    <div>${esc(title)}</div>
    <div class="state">${s.recorded ? "Recording" : "Not recorded"}</div>
    <div class="why">${esc(sideWhy(s.reason))}</div>${level ? meter(`${title} level`, level) : ""}
    ${health ? `<p class="${health.kind === "alert" ? "alert" : "reason"} device-health" role="${health.kind === "alert" ? "alert" : "status"}">${esc(health.text)}</p>` : ""}</div>`;
}

export function control(id: string, label: string, c: Control, extra = ""): string {
  return `<div class="control">
    <button type="button" id="${id}"${c.enabled ? "" : " disabled"}${c.enabled ? "" : ` aria-describedby="${id}-why"`}>${esc(label)}</button>
    ${c.enabled ? "" : `<p class="reason" id="${id}-why">${esc(c.message ?? "")}</p>`}${extra}</div>`;
}

/// "Customer withdrew consent": a control like the others, and before it acts an in-page
/// confirmation that says what will happen (it cannot be undone).
function withdrawal(call: CallView): string {
  const c = call.controls.consent_withdrawn;
  if (!c.enabled) ui.confirmingWithdrawal = false;
  if (!ui.confirmingWithdrawal) return control("withdraw-consent", "Customer withdrew consent", c);
  return `<div class="control confirm" id="withdraw-confirm" role="alertdialog" aria-labelledby="withdraw-what">
    <p id="withdraw-what"><strong>The customer withdrew consent to be recorded?</strong> From now on neither the customer nor any third party is recorded in this call, and no new voice receipt can be made${call.controls.receipt_stop.enabled ? " (the voice receipt in progress ends now)" : ""}. What was recorded before stays. This cannot be undone.</p>
    <div class="actions"><button type="button" class="danger" id="withdraw-yes">Yes, stop recording the customer</button> <button type="button" id="withdraw-no">Cancel</button></div></div>`;
}

export function renderCall(call: CallView): string {
  const paused = call.status.agent.reason === "paused";
  if (paused && ui.pausedSince === null) ui.pausedSince = Date.now();
  if (!paused) ui.pausedSince = null;
  const pauseTooLong = ui.pausedSince !== null && Date.now() - ui.pausedSince > pauseWarningMs();
  // Both halves of "Toggle customer voice call recording", each as the engine says.
  const toggle = control("customer-on", "Record customer voice", call.controls.customer_on)
    + control("customer-off", "Stop recording customer voice", call.controls.customer_off);
  const pauseControl = paused ? control("resume", "Resume recording", call.controls.resume) : control("pause", "Pause recording", call.controls.pause);
  const inReceipt = call.controls.receipt_stop.enabled;
  const receipt = inReceipt
    ? control("receipt-stop", "Stop voice receipt", call.controls.receipt_stop)
    : control("receipt-start", "Start voice receipt", call.controls.receipt_start,
      `<div class="field"><label for="order">Order id</label><input id="order" ${call.controls.receipt_start.enabled ? "" : "disabled"}></div>
       ${call.controls.warnings.map((w) => `<p class="warning">${esc(warningText(w))}</p>`).join("")}`);
  const takes = call.takes.map((t) => `<tr><td>${esc(t.order_id)}</td><td>${t.seq}</td><td>${formatTimer(t.from_ms)}</td>
    <td>${t.to_ms === null ? "recording…" : formatTimer(t.to_ms)}</td><td>${t.customer ? "agent and customer" : "agent only"}</td><td>${esc(t.status)}</td></tr>`).join("");
  return `
    <section class="card">
      <div class="bar">
        <strong id="contact">${esc(call.request.contact ?? "unknown contact")}</strong>
        <span>${esc(call.request.project)}</span>
        <span>${call.request.direction === "inbound" ? "Inbound" : "Outbound"}</span>
        ${call.consent_withdrawn_at_ms !== null
          ? `<span class="badge declined" id="consent">consent: withdrawn at ${formatTimer(call.consent_withdrawn_at_ms)}</span>`
          : `<span class="badge ${call.request.consent === "declined" ? "declined" : ""}" id="consent">consent: ${esc(call.request.consent.replace("_", " "))}</span>`}
        <span id="timer">${formatTimer(call.elapsed_ms)}</span>
        ${call.policy_source === "cache" ? '<span class="badge">offline: cached recording settings</span>' : ""}
      </div>
    </section>
    ${noticeHtml("call")}
    ${pauseTooLong ? `<p class="warning" role="alert" id="pause-warning">Recording has been paused for over ${Math.round(pauseWarningMs() / 1000)} seconds. Resume when the sensitive part is over.</p>` : ""}
    <div class="sides">
      ${side("Agent", call.status.agent, call.mic_level, ["Microphone", call.mic_health])}
      ${side("Customer", call.status.customer, call.call_level, ["Call audio", call.call_health])}
      ${side("Third parties", call.status.third_parties)}
    </div>
    ${call.sip ? phoneHtml(call, call.sip) : ""}
    <h2>Controls</h2>
    <div class="controls">${toggle}${pauseControl}${receipt}${withdrawal(call)}</div>
    ${takes ? `<h2>Voice receipts</h2><table><thead><tr><th>Order</th><th>Take</th><th>From</th><th>To</th><th>Voices</th><th>Status</th></tr></thead><tbody>${takes}</tbody></table>` : ""}
    <div class="actions" style="margin-top:1.2rem"><button type="button" class="danger" id="hang-up">Hang up</button></div>
    ${contactCard()}`;
}

export function wireCall(call: CallView) {
  if (call.request.contact && ui.card?.contact !== call.request.contact) void loadHistory(call.request.contact);
  const on = (id: string, intent: Intent) => document.getElementById(id)?.addEventListener("click", () => sendIntent(intent));
  on("customer-on", { intent: "customer_on" });
  on("customer-off", { intent: "customer_off" });
  on("pause", { intent: "pause" });
  on("resume", { intent: "resume" });
  on("receipt-stop", { intent: "receipt_stop" });
  document.getElementById("withdraw-consent")?.addEventListener("click", () => {
    ui.confirmingWithdrawal = true;
    render();
    document.getElementById("withdraw-no")?.focus();
  });
  document.getElementById("withdraw-no")?.addEventListener("click", () => { ui.confirmingWithdrawal = false; render(); });
  document.getElementById("withdraw-yes")?.addEventListener("click", () => {
    ui.confirmingWithdrawal = false;
    void sendIntent({ intent: "consent_withdrawn" });
  });
  document.getElementById("receipt-start")?.addEventListener("click", () => {
    const order = (document.getElementById("order") as HTMLInputElement).value.trim();
    if (!order) { say("call", { kind: "alert", text: "Type the order id first." }); return; }
    if (call.replaces.includes(order) && !confirm(warningText("receipt_replaces_previous"))) return;
    sendIntent({ intent: "receipt_start", order_id: order });
  });
  document.getElementById("hang-up")?.addEventListener("click", async () => { await act("call", () => invoke("end_call")); await refresh(); });
  if (call.sip) wirePhone();
}

// ---- The softphone: keypad, hold, mute, parties, transfer ---------------------------------

export async function sendIntent(intent: Intent) {
  const answer = await act("call", () => invoke<IntentAnswer>("intent", { intent }));
  if (answer && !answer.accepted) ui.notices.set("call", { kind: "alert", text: answer.message ?? "Refused.", code: answer.reason ?? undefined });
  await refresh();
}

// ---- Ready: dial, ring, contact ui.card ------------------------------------------------------
