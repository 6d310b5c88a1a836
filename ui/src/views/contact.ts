// The contact card (a contact's calls and voice receipts) and the in-app player.

import { app, errorText, invoke, noticeHtml, render, say, ui } from "../app";
import { esc, formatTimer } from "../text";
import type { HistoryEntry, ReceiptInfo, ReceiptList } from "../types";

export async function loadHistory(contact: string) {
  ui.card = { contact, entries: null, receipts: null };
  render();
  const [entries, receipts] = await Promise.allSettled([
    invoke<HistoryEntry[]>("history", { contact }),
    invoke<ReceiptList>("receipts", { query: { contact, limit: 100 } }),
  ]);
  if (ui.card?.contact !== contact) return;
  ui.card = {
    contact,
    entries: entries.status === "fulfilled" ? entries.value : [],
    error: entries.status === "rejected" ? errorText(entries.reason) : undefined,
    receipts: receipts.status === "fulfilled" ? receipts.value.items : [],
    receiptsError: receipts.status === "rejected" ? `Voice receipts could not be loaded: ${errorText(receipts.reason)}` : undefined,
  };
  render();
}

/// Narrows the contact ui.card's voice receipts to one order (the store searches by order id).
async function findOrder(order: string) {
  if (!ui.card) return;
  const contact = ui.card.contact;
  ui.card = { ...ui.card, order, receipts: null, receiptsError: undefined };
  render();
  try {
    const query = order ? { contact, order_id: order, limit: 100 } : { contact, limit: 100 };
    const list = await invoke<ReceiptList>("receipts", { query });
    if (ui.card?.contact === contact) ui.card = { ...ui.card, receipts: list.items };
  } catch (e) {
    if (ui.card?.contact === contact) ui.card = { ...ui.card, receipts: [], receiptsError: `Voice receipts could not be loaded: ${errorText(e)}` };
  }
  render();
}

function receiptsHtml(): string {
  if (!ui.card) return "";
  const rows = (ui.card.receipts ?? []).map((r) => `<tr data-receipt="${esc(r.id)}"><td>${esc(r.order_id)}</td><td>${r.seq}</td>
    <td>${esc(new Date(r.started_at).toLocaleString())}</td><td>${esc(r.agent)}</td><td>${formatTimer(r.to_ms - r.from_ms)}</td>
    <td>${r.customer ? "agent and customer" : "agent only"}</td><td>${esc(new Date(r.expires_at).toLocaleDateString())}</td>
    <td>${r.playable ? `<button type="button" data-play-receipt="${esc(r.id)}" aria-label="Play voice receipt ${esc(r.order_id)} take ${r.seq}">Play</button>` : '<span class="muted">not yours to hear</span>'}</td></tr>`).join("");
  return `<h3>Voice receipts</h3>
    <form class="inline" id="find-order"><label for="order-search">Order id</label><input id="order-search" value="${esc(ui.card.order ?? "")}" placeholder="all orders"><button type="submit">Find</button></form>
    ${ui.card.receiptsError ? `<p class="alert" role="alert">${esc(ui.card.receiptsError)}</p>` : ""}
    ${ui.card.receipts === null ? '<p class="muted">Loading the voice receipts…</p>'
      : rows ? `<table id="contact-receipts"><thead><tr><th>Order</th><th>Take</th><th>Call</th><th>Agent</th><th>Length</th><th>Voices</th><th>Kept until</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p class="muted" id="contact-receipts">${ui.card.order ? `No voice receipt for order ${esc(ui.card.order)} with this contact.` : "No voice receipts with this contact."}</p>`}`;
}

export const playCell = (h: HistoryEntry) => (h.playable
  ? `<button type="button" data-play="${esc(h.id)}">Play</button>`
  : `<span class="muted">${h.has_audio ? "not yours to hear" : "no audio"}</span>`);

export function contactCard(): string {
  if (!ui.card) return "";
  const rows = (ui.card.entries ?? []).map((h) => `<tr><td>${esc(new Date(h.started_at).toLocaleString())}</td><td>${esc(h.agent)}</td>
    <td>${formatTimer(h.duration_ms)}</td><td>${h.receipts}</td><td>${playCell(h)}</td></tr>`).join("");
  // The call button: from the Ready view, for an agent (the dial form does the rest).
  const callable = ui.snapshot?.takes_calls && !ui.snapshot.call && !ui.snapshot.phone?.dialing;
  return `<section class="card" id="contact-card"><h2>Contact card · ${esc(ui.card.contact)}</h2>
    ${callable ? `<div class="actions"><button type="button" id="call-contact">Call ${esc(ui.card.contact)}</button></div>` : ""}
    ${ui.card.error ? `<p class="alert">${esc(ui.card.error)}</p>` : ""}
    ${noticeHtml("card")}
    ${ui.card.entries === null ? '<p class="muted">Loading the call history…</p>'
      : rows ? `<table><thead><tr><th>Date</th><th>Agent</th><th>Duration</th><th>Receipts</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
      : '<p class="muted">No earlier calls with this contact.</p>'}
    ${receiptsHtml()}</section>`;
}

/// Plays a recording, or a voice receipt on its own, in the player bar (outside the
/// re-rendered view, so it keeps playing).
export async function play(id: string, receipt?: ReceiptInfo) {
  const player = document.getElementById("player") as HTMLElement;
  try {
    const bytes = await invoke<ArrayBuffer>(receipt ? "play_receipt" : "play", { id });
    const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
    const title = receipt ? `Voice receipt ${esc(receipt.order_id)} · take ${receipt.seq}` : `Recording ${esc(id.slice(0, 8))}`;
    player.innerHTML = `<span id="player-title">${title}</span><audio controls autoplay id="audio" src="${url}"></audio><button type="button" id="close-player">Close</button>`;
    player.hidden = false;
    document.getElementById("close-player")?.addEventListener("click", () => { player.hidden = true; player.innerHTML = ""; URL.revokeObjectURL(url); });
  } catch (e) {
    say(ui.tab === "recordings" ? "recordings" : "card", { kind: "alert", text: errorText(e) });
  }
}

export function wirePlay() {
  app().querySelectorAll<HTMLButtonElement>("[data-play]").forEach((b) => b.addEventListener("click", () => play(b.dataset.play ?? "")));
  app().querySelectorAll<HTMLButtonElement>("[data-play-receipt]").forEach((b) => b.addEventListener("click", () => {
    const receipt = ui.card?.receipts?.find((r) => r.id === b.dataset.playReceipt);
    if (receipt) void play(receipt.id, receipt);
  }));
  document.getElementById("find-order")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void findOrder((document.getElementById("order-search") as HTMLInputElement).value.trim());
  });
}
