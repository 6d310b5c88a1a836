// The frame around every view: tabs, the store's banner, the rings.

import { type Tab, noticeHtml, ui } from "../app";
import { cachedSettingsLines, esc, storeBanner } from "../text";
import type { Snapshot } from "../types";
import { phoneRingHtml, ringHtml } from "./ready";

export function tabs(s: Snapshot): [Tab, string][] {
  const waiting = s.uploads.filter((u) => u.state !== "deleted" && u.state !== "uploaded").length;
  const list: [Tab, string][] = [["phone", s.call ? "Call" : "Phone"]];
  if (s.role === "supervisor" || s.role === "admin") list.push(["recordings", "Recordings"]);
  list.push(["uploads", waiting ? `Uploads (${waiting})` : "Uploads"], ["settings", "Settings"]);
  return list;
}

export function frame(s: Snapshot, body: string): string {
  const banner = storeBanner(s.store);
  const bannerHtml = !banner ? ""
    : banner.kind === "offline"
      ? `<p class="warning" role="status" id="offline-banner">${esc(banner.text)}${s.store.message ? `<br><span class="muted">${esc(s.store.message)}</span>` : ""}</p>
        ${cachedSettingsLines(s.cached_settings).map((l) => `<p class="${l.kind === "alert" ? "alert" : "muted"}" ${l.kind === "alert" ? 'role="alert"' : ""} data-cached-settings="${esc(l.project)}">${esc(l.text)}</p>`).join("")}`
      : `<p class="alert" role="alert" id="expired-banner">${esc(banner.text)} <button type="button" id="sign-in-again">Sign in again</button></p>`;
  const nav = tabs(s).map(([t, label]) => `<button type="button" class="tab" data-tab="${t}"${t === ui.tab ? ' aria-current="page"' : ""}>${esc(label)}</button>`).join("");
  // Plain HTTP is allowed to this machine's own store (and a test lab): the agent still sees it.
  const link = s.encrypted === false
    ? ` <span class="badge insecure" id="unencrypted-link" title="Passwords and recordings cross the network unencrypted">unencrypted link (http)</span>`
    : "";
  return `<nav class="tabs" aria-label="Views">${nav}<span class="who muted">${esc(s.user ?? "")} · ${esc(s.server ?? "")}</span>${link}</nav>
    ${noticeHtml("app")}${bannerHtml}${ringHtml()}${phoneRingHtml(s)}${noticeHtml("ring")}${body}`;
}
