// Unit tests of the window's wording logic (built from src/text.ts by `npm test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { esc, sideWhy, warningText, formatTimer, storeBanner, uploadProgress, dayRange, formatBytes, rateLabel, deviceHealthText, lineText, cachedSettingsLines } from "../.test/text.mjs";

test("escapes everything the engine or the agent typed", () => {
  assert.equal(esc(`<img src=x onerror="alert(1)">&'`), "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;");
  assert.equal(esc(null), "");
});

test("every side reason has words an agent understands", () => {
  const reasons = ["recorded", "no_call", "project_records_nothing", "stopped_by_conference", "discarded_by_conference",
    "paused", "consent_declined", "consent_withdrawn", "forbidden_by_project", "switched_off", "receipt_without_customer",
    "no_third_parties", "third_parties_not_recorded", "follows_customer"];
  for (const r of reasons) {
    const words = sideWhy(r);
    assert.ok(words.endsWith(".") && !words.includes("_"), `${r}: ${words}`);
  }
  assert.match(sideWhy("consent_declined"), /declined/);
});

test("receipt warnings say what will happen", () => {
  assert.match(warningText("receipt_without_customer"), /not include the customer/);
  assert.match(warningText("receipt_replaces_previous"), /replaces the previous one/);
});

test("the call timer reads like a clock", () => {
  assert.equal(formatTimer(0), "00:00");
  assert.equal(formatTimer(61_999), "01:01");
  assert.equal(formatTimer(3_600_000 + 5_000), "1:00:05");
});

test("the banner says offline since when, and what still works; nothing while online", () => {
  const at = (t) => `at ${t.slice(11, 16)}`;
  assert.equal(storeBanner({ state: "online", since: null, message: null }, at), null);
  assert.equal(storeBanner({ state: "unknown", since: null, message: null }, at), null);
  const off = storeBanner({ state: "offline", since: "2026-11-29T09:15:00Z", message: "connection refused" }, at);
  assert.equal(off.kind, "offline");
  assert.match(off.text, /^Offline since at 09:15: /);
  assert.match(off.text, /still recorded under the cached recording settings for as long as they may serve/);
  const expired = storeBanner({ state: "session_expired", since: null, message: null }, at);
  assert.equal(expired.kind, "expired");
  assert.match(expired.text, /sign in again/);
});

test("an upload's bar fills with the bytes the store holds", () => {
  const u = (state, sent, total, attempts = 1, waiting_for = null) => uploadProgress({ call_id: "c", state, attempts, last_error: null, waiting_for, sent_bytes: sent, total_bytes: total });
  assert.equal(u("queued", 0, null, 0, "alice").label, "Waiting for alice to sign in on this computer");
  assert.deepEqual(u("uploading", 512 * 1024, 2 * 1024 * 1024), { percent: 25, label: "Uploading 25% of 2.0 MiB" });
  assert.deepEqual(u("uploading", 0, null), { percent: 0, label: "Uploading…" });
  assert.equal(u("uploading", 5, 4).percent, 100, "never past full");
  assert.equal(u("uploaded", 0, null).percent, 100);
  assert.equal(u("queued", 0, null, 0).label, "Waiting to upload");
  assert.equal(u("queued", 0, null, 2).label, "Waiting to retry (attempt 3 next)");
  assert.match(u("failed", 0, null).label, /needs a person/);
  assert.equal(formatBytes(1000), "1000 B");
  assert.equal(formatBytes(2048), "2 KiB");
});

test("a day range covers both days whole, in the agent's time zone", () => {
  const r = dayRange("2026-11-01", "2026-11-02");
  assert.equal(new Date(r.from).getTime(), new Date(2026, 10, 1, 0, 0, 0, 0).getTime());
  assert.equal(new Date(r.to).getTime(), new Date(2026, 10, 2, 23, 59, 59, 999).getTime());
  assert.deepEqual(dayRange("", ""), {});
  assert.deepEqual(Object.keys(dayRange("", "2026-11-02")), ["to"]);
});

test("recording rates read in kHz, with a word on the common ones", () => {
  assert.equal(rateLabel(16000), "16 kHz · wideband (recommended)");
  assert.equal(rateLabel(44100), "44.1 kHz");
  assert.equal(rateLabel(8000), "8 kHz · telephone quality, smallest files");
});

test("a lost device is explained while it is lost, and noted once it is back", () => {
  assert.equal(deviceHealthText("Microphone", null), null);
  const lost = deviceHealthText("Microphone", { lost: true, losses: 1, reconnects: 0, error: "the device delivered nothing for 520 ms" });
  assert.equal(lost.kind, "alert");
  assert.match(lost.text, /^Microphone lost: the recording holds silence for it until it is back\. Reconnecting every second \(the device delivered nothing for 520 ms\)\.$/);
  const back = deviceHealthText("Call audio", { lost: false, losses: 2, reconnects: 2, error: null });
  assert.equal(back.kind, "note");
  assert.match(back.text, /lost 2 times during this call and is back/);
});

test("the line says what each side misses, and warns when the engine says it is poor", () => {
  const early = lineText({ heard_lost_permille: 0, delay_ms: 40, sent_lost_permille: null, round_trip_ms: null, poor: false });
  assert.equal(early.text, "Line: you miss 0.0% of the customer · buffer 40 ms");
  assert.equal(early.bad, false);
  const reported = lineText({ heard_lost_permille: 12, delay_ms: 60, sent_lost_permille: 50, round_trip_ms: 180, poor: true });
  assert.equal(reported.text, "Line: you miss 1.2% of the customer · the customer's phone misses 5.0% of you · round trip 180 ms · buffer 60 ms");
  assert.equal(reported.bad, true);
});

test("cached settings say until when calls are recorded offline, and past the limit that they are not", () => {
  const day = (t) => t.slice(0, 10);
  const [fresh, old] = cachedSettingsLines([
    { project: "sales", confirmed_at: "2026-12-01T08:00:00Z", offline_days: 7, usable_until: "2026-12-08T08:00:00Z", usable: true },
    { project: "support", confirmed_at: "2026-11-01T08:00:00Z", offline_days: 1, usable_until: "2026-11-02T08:00:00Z", usable: false },
  ], day);
  assert.equal(fresh.kind, "note");
  assert.equal(fresh.text, "Project sales: calls are recorded under the settings the store confirmed on 2026-12-01, until 2026-12-08 at the latest.");
  assert.equal(old.kind, "alert");
  assert.match(old.text, /^Project support: calls are not recorded\. .* last confirmed by the store on 2026-11-01, more than 1 day ago/);
  assert.deepEqual(cachedSettingsLines([], day), []);
});
