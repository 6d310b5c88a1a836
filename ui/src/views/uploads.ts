// Uploads: every recording still on this computer, its progress and its last error.

import { act, app, invoke, noticeHtml, refresh } from "../app";
import { esc, uploadProgress } from "../text";
import type { Snapshot, UploadView } from "../types";

export function progressHtml(u: UploadView): string {
  const p = uploadProgress(u);
  return `<progress max="100" value="${p.percent}" aria-label="upload of ${esc(u.call_id)}"></progress> <span class="progress-label">${esc(p.label)}</span>`;
}

export function renderUploads(s: Snapshot): string {
  const rows = s.uploads.map((u) => `<tr data-upload="${esc(u.call_id)}"><td title="${esc(u.call_id)}">${esc(u.call_id.slice(0, 8))}…</td>
    <td class="progress">${progressHtml(u)}</td><td>${u.attempts}</td><td>${esc(u.last_error ?? "")}</td>
    <td>${u.state === "failed" || (u.state === "queued" && u.attempts > 0) ? `<button type="button" data-retry="${esc(u.call_id)}">Retry</button>` : ""}</td></tr>`).join("");
  return `<h1>Uploads</h1>
    ${noticeHtml("uploads")}
    <p class="muted">Every recording stays on this computer until the central store confirms it (or it expires).</p>
    ${rows ? `<table id="uploads"><thead><tr><th>Call</th><th>Progress</th><th>Attempts</th><th>Last error</th><th></th></tr></thead><tbody>${rows}</tbody></table>
      <div class="actions" style="margin-top:.6rem"><button type="button" id="retry">Upload now</button></div>` : '<p class="muted" id="uploads">Every recording is in the store.</p>'}`;
}

export function wireUploads() {
  document.getElementById("retry")?.addEventListener("click", async () => { await act("uploads", () => invoke("upload_now")); await refresh(); });
  app().querySelectorAll<HTMLButtonElement>("[data-retry]").forEach((b) => b.addEventListener("click", async () => {
    await act("uploads", () => invoke("retry_upload", { callId: b.dataset.retry }));
    await refresh();
  }));
}

// ---- Settings -----------------------------------------------------------------------------
