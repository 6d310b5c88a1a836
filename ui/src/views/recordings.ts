// The supervisors' Recordings view: calls of their projects, filtered, each with Play.

import { invoke, noticeHtml, render, ui, errorText } from "../app";
import { dayRange, esc, formatTimer } from "../text";
import type { RecordingList, RecordingQuery } from "../types";
import { playCell } from "./contact";

export async function runSearch(query: RecordingQuery, more = false) {
  const previous = more ? ui.search?.list?.items ?? [] : [];
  ui.search = { query, list: more ? ui.search?.list ?? null : null };
  render();
  try {
    const list = await invoke<RecordingList>("recordings", { query });
    ui.search = { query, list: { items: [...previous, ...list.items], next_cursor: list.next_cursor } };
  } catch (e) {
    ui.search = { query, list: { items: previous, next_cursor: null }, error: errorText(e) };
  }
  render();
}

export function renderRecordings() {
  const rows = (ui.search?.list?.items ?? []).map((h) => `<tr><td>${esc(new Date(h.started_at).toLocaleString())}</td><td>${esc(h.project_id)}</td>
    <td>${esc(h.agent)}</td><td>${esc(h.contact ?? "")}</td><td>${formatTimer(h.duration_ms)}</td><td>${h.receipts}</td>
    <td>${esc(new Date(h.expires_at).toLocaleDateString())}</td><td>${playCell(h)}</td></tr>`).join("");
  const list = !ui.search ? "" : ui.search.list === null ? '<p class="muted">Searching…</p>'
    : rows ? `<table id="recordings"><thead><tr><th>Date</th><th>Project</th><th>Agent</th><th>Contact</th><th>Duration</th><th>Receipts</th><th>Kept until</th><th></th></tr></thead><tbody>${rows}</tbody></table>
      ${ui.search.list.next_cursor ? '<div class="actions"><button type="button" id="more">More</button></div>' : ""}`
    : '<p class="muted" id="recordings">No recordings match.</p>';
  return `<h1>Recordings</h1>
    <p class="muted">Calls in your projects that you may listen to, newest first.</p>
    <form class="card filters" id="search">
      <div class="field"><label for="f-agent">Agent</label><input id="f-agent" placeholder="user name"></div>
      <div class="field"><label for="f-contact">Contact</label><input id="f-contact" placeholder="number or contact id"></div>
      <div class="field"><label for="f-project">Project</label><input id="f-project" placeholder="project id"></div>
      <div class="field"><label for="f-from">From</label><input id="f-from" type="date"></div>
      <div class="field"><label for="f-to">To</label><input id="f-to" type="date"></div>
      <button type="submit">Search</button>
    </form>
    ${ui.search?.error ? `<p class="alert" role="alert">${esc(ui.search.error)}</p>` : ""}
    ${noticeHtml("recordings")}
    ${list}`;
}

export function wireRecordings() {
  document.getElementById("search")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
    const query: RecordingQuery = { ...dayRange(value("f-from"), value("f-to")), limit: 50 };
    if (value("f-agent")) query.agent = value("f-agent");
    if (value("f-contact")) query.contact = value("f-contact");
    if (value("f-project")) query.project = value("f-project");
    void runSearch(query);
  });
  document.getElementById("more")?.addEventListener("click", () => {
    if (ui.search?.list?.next_cursor) void runSearch({ ...ui.search.query, cursor: ui.search.list.next_cursor }, true);
  });
}

// ---- Sign-in ------------------------------------------------------------------------------
