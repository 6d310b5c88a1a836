// The softphone's card during a call: line quality, hold, mute, keypad, parties, transfer.

import { act, invoke, noticeHtml, refresh, render, ui } from "../app";
import { esc, lineText, sideWhy } from "../text";
import type { CallView, PartyView, SipCallView } from "../types";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export function keypad(id: string, label: string): string {
  return `<div class="keypad" id="${id}" role="group" aria-label="${esc(label)}">${KEYS.map((k) => `<button type="button" data-key="${esc(k)}">${esc(k)}</button>`).join("")}</div>`;
}

function dtmfTargetHtml(sip: SipCallView): string {
  const inCall = sip.parties.filter((p) => p.state === "in_call");
  if (!inCall.some((p) => p.id === ui.dtmfTo)) ui.dtmfTo = "";
  if (inCall.length === 0) return "";
  const option = (value: string, label: string) => `<option value="${esc(value)}"${value === ui.dtmfTo ? " selected" : ""}>${esc(label)}</option>`;
  return `<div class="field inline"><label for="dtmf-to">Keypad sends to</label><select id="dtmf-to">${option("", "the customer")}${inCall.map((p) => option(p.id, `${p.id} · ${p.uri}`)).join("")}</select></div>`;
}

const partyState: Record<PartyView["state"], string> = { ringing: "ringing…", in_call: "in the call", left: "left", failed: "did not join" };

export function phoneHtml(call: CallView, sip: SipCallView): string {
  const third = call.status.third_parties;
  const parties = sip.parties.map((p) => `<tr data-party="${esc(p.id)}"><td>${esc(p.id)}</td><td>${esc(p.uri)}</td><td>${esc(partyState[p.state])}${p.error ? ` <span class="reason">${esc(p.error)}</span>` : ""}</td>
    <td class="${p.state === "in_call" && third.recorded ? "rec-on" : "rec-off"}">${p.state === "in_call" ? (third.recorded ? "Recording" : `Not recorded: ${esc(sideWhy(third.reason))}`) : ""}</td></tr>`).join("");
  return `<section class="card" id="phone">
      <h2>Phone <span class="muted">· ${esc(sip.remote)}</span>${sip.held ? ' <span class="badge" id="held">on hold</span>' : ""}</h2>
      <div class="actions">
        <button type="button" id="${sip.held ? "resume-call" : "hold-call"}">${sip.held ? "Resume call" : "Hold call"}</button>
        <button type="button" id="${sip.muted ? "unmute" : "mute"}" aria-pressed="${sip.muted}">${sip.muted ? "Unmute microphone" : "Mute microphone"}</button>
      </div>
      ${(() => { const line = lineText(sip.line); return `<p class="${line.bad ? "warning" : "muted"}" id="line">${esc(line.text)}</p>`; })()}
      ${sip.muted ? '<p class="warning" id="muted-note" role="status">Muted: the customer does not hear you. Muting is not pausing: the call is still recorded (your side as silence).</p>' : ""}
      ${sip.held ? '<p class="muted">On hold: nothing of you is sent. The recording goes on as the controls below say.</p>' : ""}
      ${dtmfTargetHtml(sip)}
      <div class="field"><span>Keypad (sent as tones ${ui.dtmfTo ? `${esc(ui.dtmfTo)}'s` : "the customer's"} system reads; never recorded as tones)</span>${keypad("dtmf", "Send digits")}</div>
      ${sip.digits ? `<p class="muted" id="digits-received">The customer typed: ${esc(sip.digits)}</p>` : ""}
      <form class="inline" id="add-party"><label for="party-to">Add party</label><input id="party-to" placeholder="sip:name@host or number" required><button type="submit">Call into the conference</button></form>
      <form class="inline" id="transfer"><label for="transfer-to">Transfer to</label><input id="transfer-to" placeholder="sip:name@host or number" required><button type="submit">Transfer</button></form>
      ${noticeHtml("phone")}
      ${parties ? `<h3>Parties</h3><table id="parties"><thead><tr><th>Id</th><th>Address</th><th>State</th><th>Recording</th></tr></thead><tbody>${parties}</tbody></table>` : ""}
    </section>`;
}

export function wirePhone() {
  const click = (id: string, work: () => Promise<unknown>) => document.getElementById(id)?.addEventListener("click", async () => { await act("phone", work); await refresh(); });
  click("hold-call", () => invoke("hold", { held: true }));
  click("resume-call", () => invoke("hold", { held: false }));
  click("mute", () => invoke("mute", { muted: true }));
  click("unmute", () => invoke("mute", { muted: false }));
  document.getElementById("dtmf-to")?.addEventListener("change", (ev) => { ui.dtmfTo = (ev.target as HTMLSelectElement).value; render(); });
  document.querySelectorAll<HTMLButtonElement>("#dtmf [data-key]").forEach((b) => b.addEventListener("click", () => act("phone", () => invoke("send_digits", { digits: b.dataset.key, party: ui.dtmfTo || null }))));
  const submit = (id: string, input: string, work: (to: string) => Promise<unknown>) => document.getElementById(id)?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const to = (document.getElementById(input) as HTMLInputElement).value.trim();
    if (!to) return;
    (document.getElementById(input) as HTMLInputElement).value = "";
    await act("phone", () => work(to));
    await refresh();
  });
  submit("add-party", "party-to", (to) => invoke("add_party", { to }));
  submit("transfer", "transfer-to", (to) => invoke("transfer", { to }));
}
