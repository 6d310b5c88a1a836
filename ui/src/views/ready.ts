// Ready: the dial form, the contact-card lookup, and the rings (offered calls, SIP calls).

import { act, invoke, noticeHtml, refresh, render, say, ui } from "../app";
import { esc } from "../text";
import type { Consent, Snapshot } from "../types";
import { contactCard, loadHistory } from "./contact";
import { keypad } from "./phone";

export function renderReady(s: Snapshot): string {
  const agent = s.takes_calls;
  return `
    <h1>${agent ? "Ready" : "Contact cards"} <span class="muted">· ${esc(s.user ?? "")}</span></h1>
    ${noticeHtml("dial")}
    ${agent ? "" : `<p class="muted" id="no-calls">Only agents take calls; as a ${esc(s.role)} you look up contacts here and listen in Recordings.</p>`}
    <form class="card" id="dial"${agent ? "" : " hidden"}>
      ${s.phone ? `<p class="muted" id="softphone-status">Softphone on ${esc(s.phone.address)}${s.phone.registration ? ` · ${esc(s.phone.registration)}` : " · direct calls (no registrar)"}</p>`
        : '<p class="muted" id="softphone-status">The softphone is not set up (Settings): calls use your external phone, recorded from the capture devices.</p>'}
      <div class="field"><label for="number">${s.phone ? "SIP address, number or contact" : "Number or contact"}</label><input id="number" required></div>
      ${s.phone ? keypad("dial-pad", "Dial pad") : ""}
      <div class="field"><label for="project">Project</label><input id="project" value="${esc(localStorage.getItem("project") ?? "")}" required></div>
      <button type="submit" id="call-button"${s.phone?.dialing ? " disabled" : ""}>Call</button>
    </form>
    <form class="card" id="lookup">
      <div class="field"><label for="lookup-contact">Contact card</label><input id="lookup-contact" placeholder="number or contact id"></div>
      <button type="submit">Show call history</button>
    </form>
    ${contactCard()}`;
}

export function wireReady() {
  document.getElementById("lookup")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const contact = (document.getElementById("lookup-contact") as HTMLInputElement).value.trim();
    if (contact) void loadHistory(contact);
  });
  document.getElementById("dial")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
    localStorage.setItem("project", value("project"));
    const request = { project: value("project"), contact: value("number"), direction: "outbound", consent: "not_asked" };
    if (ui.snapshot?.phone) await act("dial", () => invoke("dial", { to: value("number"), request }));
    else await act("dial", () => invoke("start_call", { request }));
    await refresh();
  });
  document.getElementById("call-contact")?.addEventListener("click", () => {
    if (!ui.card) return;
    (document.getElementById("number") as HTMLInputElement).value = ui.card.contact;
    (document.getElementById("dial") as HTMLFormElement).requestSubmit();
  });
  document.querySelectorAll<HTMLButtonElement>("#dial-pad [data-key]").forEach((b) => b.addEventListener("click", () => {
    const number = document.getElementById("number") as HTMLInputElement;
    number.value += b.dataset.key ?? "";
    number.focus();
  }));
}

/// The softphone's ring (an inbound SIP call) and the call being placed.
export function phoneRingHtml(s: Snapshot): string {
  const ringing = s.phone?.ringing;
  const dialing = s.phone?.dialing;
  const consentField = (c: Consent | null) => (c
    ? `<span class="badge ${c === "declined" ? "declined" : ""}" id="ring-consent">consent: ${esc(c.replace("_", " "))} (from the call)</span>`
    : `<label for="ring-consent-choice">Consent step</label><select id="ring-consent-choice"><option value="not_asked">not asked</option><option value="granted">granted</option><option value="declined">declined</option></select>`);
  return `${ringing ? `<section class="ring" role="alert" id="sip-ring"><strong>Incoming call</strong> from <span id="ring-from">${esc(ringing.from)}</span>
      <div class="field inline">${consentField(ringing.consent)}
        <label for="ring-project">Project</label><input id="ring-project" value="${esc(localStorage.getItem("project") ?? "")}" required></div>
      <div class="actions" style="margin-top:.6rem"><button type="button" id="answer">Answer</button> <button type="button" class="danger" id="decline">Reject</button></div></section>` : ""}
    ${dialing ? `<section class="ring" role="status" id="dialing">Calling <strong>${esc(dialing)}</strong>… <button type="button" id="cancel-dial">Cancel</button>${s.phone?.early_media ? `<p class="why" id="early-media">You hear the callee's line before the answer (early media). Nothing is recorded and nothing of you is sent until the call is answered.</p>` : ""}</section>` : ""}`;
}

export function wirePhoneRing() {
  document.getElementById("answer")?.addEventListener("click", async () => {
    const project = (document.getElementById("ring-project") as HTMLInputElement).value.trim();
    if (!project) { say("ring", { kind: "alert", text: "Type the call's project first." }); return; }
    localStorage.setItem("project", project);
    const choice = document.getElementById("ring-consent-choice") as HTMLSelectElement | null;
    const consent = (choice?.value ?? "not_asked") as Consent;
    ui.tab = "phone";
    await act("ring", () => invoke("answer", { request: { project, contact: null, direction: "inbound", consent } }));
    await refresh();
  });
  document.getElementById("decline")?.addEventListener("click", async () => { await act("ring", () => invoke("reject")); await refresh(); });
  document.getElementById("cancel-dial")?.addEventListener("click", async () => { await act("dial", () => invoke("cancel_dial")); await refresh(); });
}

export function ringHtml(): string {
  if (!ui.incoming) return "";
  return `<section class="ring" role="alert" id="ring"><strong>Incoming call</strong> from ${esc(ui.incoming.contact ?? "unknown")} · ${esc(ui.incoming.project)}
    ${ui.incoming.consent === "declined" ? '<span class="badge declined">declined recording</span>' : ""}
    <div class="actions" style="margin-top:.6rem"><button type="button" id="accept">Accept</button> <button type="button" class="danger" id="reject">Reject</button></div></section>`;
}

export function wireRing() {
  document.getElementById("accept")?.addEventListener("click", async () => {
    const call = ui.incoming;
    ui.incoming = null;
    ui.tab = "phone";
    await act("ring", () => invoke("accept_call", { call }));
    await refresh();
  });
  document.getElementById("reject")?.addEventListener("click", () => { ui.incoming = null; render(); });
}

// ---- Uploads ------------------------------------------------------------------------------
