// The real agent window (callrec-desktop in WebKitGTK) driven through tauri-driver and
// WebKitWebDriver under Xvfb, against a real central store on loopback, with real audio from
// PulseAudio null sinks. A W3C WebDriver client in a few lines of fetch: every request has a
// timeout.
//
// The store speaks TLS with a test CA's certificate: sign-in, uploads and playback in the
// window all cross a checked TLS link.
//
// Needs: CALLREC_BIN (callrec), CALLREC_DESKTOP (callrec-desktop), CALLREC_PULSE_DIR and
// PULSE_SERVER (scripts/pulse-up), CALLREC_TEST_TLS (callrec-test-ca's folder) with
// NODE_EXTRA_CA_CERTS (its ca.pem), tauri-driver on PATH, Xvfb. scripts/test provides them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = process.env.CALLREC_BIN;
const DESKTOP = process.env.CALLREC_DESKTOP;
const PULSE = process.env.CALLREC_PULSE_DIR;
const TLS = process.env.CALLREC_TEST_TLS;
const ADMIN = "admin-password-1";
const SHOTS = process.env.CALLREC_SCREENSHOTS;
let dir, server, startServer, driver, base, session, display;
// tauri-driver listens on a free port of its own (not the default 4444, which another run
// may hold).
let WD;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function wd(method, path, body) {
  const resp = await fetch(`${WD}${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const json = await resp.json();
  if (!resp.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value)}`);
  return json.value;
}

async function api(method, path, token, body) {
  const resp = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: resp.status, body: await resp.json().catch(() => null) };
}

const exec = (script, ...args) => wd("POST", `/session/${session}/execute/sync`, { script, args });

/// Waits until `script` (run in the window) returns something truthy; returns it.
async function until(script, what, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await exec(script).catch(() => null);
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; page: ${await exec("return document.body.innerText").catch(() => "?")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/// Fills a form's fields and submits it in one step (no refresh can come in between).
async function submit(form, values) {
  await exec(`const [form, values] = arguments;
    for (const [id, v] of Object.entries(values)) document.getElementById(id).value = v;
    document.getElementById(form).requestSubmit(); return true;`, form, values);
}

async function click(id) {
  await until(`const e = document.getElementById(${JSON.stringify(id)}); return e && !e.disabled;`, `#${id} to be enabled`);
  await exec(`document.getElementById(arguments[0]).click(); return true;`, id);
}

const sideText = (side) => exec(`const e = document.querySelector('[data-side="${side}"]'); return e ? e.innerText : "";`);

function shot(name) {
  if (SHOTS && display) execFileSync("import", ["-display", display, "-window", "root", join(SHOTS, `${name}.png`)]);
}

before(async () => {
  for (const [k, v] of Object.entries({ BIN, DESKTOP, PULSE })) assert.ok(v, `${k} must be set`);
  assert.ok(TLS, "CALLREC_TEST_TLS must be set (scripts/test makes a test CA)");
  dir = mkdtempSync(join(tmpdir(), "callrec-desktop-"));
  const port = await freePort();
  // The store over TLS, its certificate signed by a test CA the app is given (CALLREC_CA).
  base = `https://localhost:${port}`;
  startServer = () => spawn(BIN, ["server", "--data", join(dir, "store"), "--listen", `127.0.0.1:${port}`,
    "--tls-cert", join(TLS, "cert.pem"), "--tls-key", join(TLS, "key.pem")], { env: { ...process.env, CALLREC_ADMIN_PASSWORD: ADMIN }, stdio: "ignore" });
  server = startServer();
  for (let i = 0; i < 200; i++) {
    try { await fetch(`${base}/api/v1/openapi.json`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  execFileSync("sox", ["-n", "-r", "16000", "-c", "1", join(dir, "tone.wav"), "synth", "20", "sine", "440", "vol", "0.5"]);
  const admin = (await api("POST", "/login", null, { username: "admin", password: ADMIN })).body.token;
  assert.equal((await api("POST", "/projects", admin, { id: "sales", name: "Sales", kind: "contact_center", record_mode: "agent_only_receipts_allow_customer" })).status, 201);
  assert.equal((await api("POST", "/projects", admin, { id: "orders", name: "Orders", kind: "contact_center", record_mode: "agent_only_receipts_forbid_customer" })).status, 201);
  assert.equal((await api("POST", "/users", admin, { username: "alice", password: "password-123", role: "agent", projects: ["sales", "orders"] })).status, 201);
  assert.equal((await api("POST", "/users", admin, { username: "bob", password: "password-123", role: "agent", projects: ["sales"] })).status, 201);
  assert.equal((await api("POST", "/users", admin, { username: "sue", password: "password-123", role: "supervisor", projects: ["sales", "orders"] })).status, 201);

  // A display number no other X server holds.
  let n = 90;
  while (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) n += 1;
  const xvfbDisplay = `:${n}`;
  display = xvfbDisplay;
  const env = {
    ...process.env,
    DISPLAY: xvfbDisplay,
    HOME: join(PULSE, "home"),
    CALLREC_DATA: join(dir, "agent"),
    CALLREC_CA: join(TLS, "ca.pem"),
    CALLREC_MIC: "callrec test microphone",
    CALLREC_CALL_AUDIO: "callrec test call audio",
    WEBKIT_DISABLE_COMPOSITING_MODE: "1",
  };
  const [wdPort, nativePort] = [await freePort(), await freePort()];
  WD = `http://127.0.0.1:${wdPort}`;
  driver = spawn("sh", ["-c", `Xvfb ${xvfbDisplay} -screen 0 1280x800x24 -nolisten tcp & exec tauri-driver --port ${wdPort} --native-port ${nativePort} --native-driver /usr/bin/WebKitWebDriver`], { env, stdio: "ignore", detached: true });
  for (let i = 0; i < 200; i++) {
    try { await fetch(`${WD}/status`, { signal: AbortSignal.timeout(500) }); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  const created = await wd("POST", "/session", { capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application: DESKTOP } } } });
  session = created.sessionId;
});

after(async () => {
  if (session) await wd("DELETE", `/session/${session}`).catch(() => {});
  if (driver) { try { process.kill(-driver.pid, "SIGTERM"); } catch {} }
  server?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("an agent signs in, records a call with a voice receipt, and the upload arrives", async () => {
  await until(`return document.getElementById("signin")`, "the sign-in form");
  await submit("signin", { server: base, username: "alice", password: "password-123" });
  await until(`return document.getElementById("dial")`, "the dial form");
  // Signed in over TLS: no "unencrypted link" warning.
  assert.equal(await exec(`return document.getElementById("unencrypted-link")`), null);
  shot("ready");
  // Settings: the device pickers list the machine's inputs (here PulseAudio's test devices),
  // and a device test shows each input's level live, outside any call.
  await openTab("settings");
  const options = await until(`const o = [...document.querySelectorAll("#mic-device option")].map((o) => o.textContent); return o.length > 1 && o`, "the device list");
  assert.ok(options.includes("callrec test microphone"), options.join(", "));
  const tone = spawn("paplay", ["-d", "mic", join(dir, "tone.wav")], { stdio: "ignore" });
  try {
    await click("test-start");
    const level = await until(`const m = document.querySelector("#test-mic [role=meter]"); const v = m && Number(m.getAttribute("aria-valuenow")); return v > 5 && v`, "the microphone's test meter to move");
    assert.ok(level > 5, `${level}`);
    assert.match(await exec(`return document.getElementById("test-mic").innerText`), /callrec test microphone/);
    assert.ok(Number(await exec(`return document.querySelector("#test-call [role=meter]").getAttribute("aria-valuenow")`)) < 5, "the silent call audio stays low");
    shot("settings");
    await click("test-stop");
    await until(`return !document.getElementById("device-test")`, "the test stopped");
  } finally {
    tone.kill();
  }
  await openTab("phone");

  await submit("dial", { number: "+358401234567", project: "sales" });
  await until(`const e = document.querySelector('[data-side="agent"]'); return e && e.innerText.includes("Recording")`, "the agent side recording");
  assert.match(await sideText("customer"), /Not recorded[\s\S]*Customer voice recording is off/);
  assert.match(await exec(`return document.getElementById("consent").innerText`), /not asked/);

  // A voice receipt records the customer; pause is disabled with the reason in words.
  await startReceipt("A-17");
  await until(`return document.querySelector('[data-side="customer"]')?.innerText.includes("Recording") && !document.querySelector('[data-side="customer"]').innerText.includes("Not recorded")`, "the customer recorded during the receipt");
  assert.equal(await exec(`return document.getElementById("pause").disabled`), true);
  assert.match(await exec(`return document.getElementById("pause-why").innerText`), /voice receipt is being recorded/);
  shot("receipt");
  await new Promise((r) => setTimeout(r, 800));
  await click("receipt-stop");
  await until(`return document.querySelector('[data-side="customer"]')?.innerText.includes("Not recorded")`, "the customer back off after the receipt");

  // Pause and resume: nothing recorded while paused, and the window says so.
  await click("pause");
  await until(`return document.querySelector('[data-side="agent"]')?.innerText.includes("Recording is paused")`, "the agent side paused");
  await click("resume");
  await until(`return document.querySelector('[data-side="agent"]')?.innerText.includes("Recorded now")`, "recording resumed");
  await new Promise((r) => setTimeout(r, 500));
  await click("hang-up");
  await until(`return document.getElementById("dial")`, "back to ready");
  // The uploads view: the call waits with its bar, then the store confirms it.
  await openTab("uploads");
  await until(`return document.querySelector("#uploads progress")`, "the call in the upload queue");
  await click("retry");
  await until(`return document.getElementById("uploads")?.innerText.includes("Every recording is in the store")`, "the upload confirmed", 30_000);
  await openTab("phone");

  const admin = (await api("POST", "/login", null, { username: "admin", password: ADMIN })).body.token;
  const { body } = await api("GET", "/recordings", admin);
  assert.equal(body.items.length, 1);
  assert.equal(body.items[0].contact, "+358401234567");
  assert.equal(body.items[0].receipts, 1);

  // The contact card: the call is in the contact's history and plays in the window.
  await submit("lookup", { "lookup-contact": "+358401234567" });
  await until(`return document.querySelector("#contact-card [data-play]")`, "the history with a play button");
  assert.match(await exec(`return document.getElementById("contact-card").innerText`), /alice/);
  await exec(`document.querySelector("#contact-card [data-play]").click(); return true;`);
  const duration = await until(`const a = document.getElementById("audio"); return a && a.duration > 1 && a.duration`, "the player with the recording");
  assert.ok(duration > 1.5, `${duration} s`);
  // The call's voice receipt is in the card too, found by its order id and played on its own.
  await until(`return document.querySelector("#contact-receipts [data-play-receipt]")`, "the contact's voice receipts");
  assert.match(await exec(`return document.getElementById("contact-receipts").innerText`), /A-17\s+1\b[\s\S]*agent and customer/);
  await submit("find-order", { "order-search": "NO-SUCH-ORDER" });
  await until(`return document.getElementById("contact-receipts")?.innerText.includes("No voice receipt for order NO-SUCH-ORDER")`, "no receipt for another order");
  await submit("find-order", { "order-search": "A-17" });
  await until(`return document.querySelectorAll("#contact-receipts [data-play-receipt]").length === 1`, "order A-17's receipt");
  await exec(`document.querySelector("#contact-receipts [data-play-receipt]").click(); return true;`);
  await until(`return document.getElementById("player-title")?.innerText.includes("Voice receipt A-17")`, "the receipt in the player");
  const take = await until(`const a = document.getElementById("audio"); return a && a.duration > 0 && a.duration`, "the receipt's audio");
  // The take lasted about 0.8 s (a receipt on its own, not the whole call).
  assert.ok(take > 0.5 && take < duration, `${take} s of a ${duration} s call`);
  shot("contact-card");
  await exec(`document.getElementById("close-player")?.click(); return true;`);
});

test("an inbound call with consent declined: the customer is never recorded, and the window says why", async () => {
  const admin = (await api("POST", "/login", null, { username: "admin", password: ADMIN })).body.token;
  const offer = { agent: "alice", contact: "+358409999999", project: "sales", direction: "inbound", consent: "declined" };
  // Offered until the window is listening (offers reach only connected apps).
  await until(`return document.getElementById("dial")`, "the ready view");
  const end = Date.now() + 15_000;
  for (;;) {
    const { body } = await api("POST", "/calls", admin, offer);
    if (body.delivered >= 1) break;
    if (Date.now() > end) throw new Error("the window never listened for calls");
    await new Promise((r) => setTimeout(r, 200));
  }
  await until(`return document.getElementById("ring")?.innerText.includes("+358409999999")`, "the incoming call");
  assert.match(await exec(`return document.getElementById("ring").innerText`), /declined recording/);
  await click("accept");
  await until(`return document.querySelector('[data-side="customer"]')?.innerText.includes("declined")`, "the customer side");
  assert.match(await sideText("customer"), /Not recorded[\s\S]*The customer declined to be recorded/);
  assert.match(await sideText("agent"), /Recording/);
  assert.equal(await exec(`return document.getElementById("customer-on").disabled`), true);
  assert.match(await exec(`return document.getElementById("customer-on-why").innerText`), /declined/);
  assert.equal(await exec(`return document.getElementById("receipt-start").disabled`), true);
  shot("consent-declined");
  await click("hang-up");
  await until(`return document.getElementById("dial")`, "back to ready");
});

test("a second voice receipt for the same order asks before replacing the first", async () => {
  await submit("dial", { number: "+358401111111", project: "sales" });
  await until(`return document.getElementById("receipt-start")`, "the call view");
  await startReceipt("B-2");
  await until(`return document.getElementById("receipt-stop")`, "the receipt running");
  await new Promise((r) => setTimeout(r, 300));
  await click("receipt-stop");
  await until(`return document.getElementById("receipt-start") && !document.getElementById("receipt-start").disabled`, "the receipt stopped");
  // Declining the confirmation keeps the first take.
  await exec(`document.getElementById("order").value = "B-2"; setTimeout(() => document.getElementById("receipt-start").click(), 0); return true;`);
  const text = await untilAlert();
  assert.match(text, /replaces the previous one/);
  await wd("POST", `/session/${session}/alert/dismiss`, {});
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await exec(`return document.querySelectorAll("tbody tr").length`), 1, "no second take");
  // Accepting it replaces the first take.
  await exec(`document.getElementById("order").value = "B-2"; setTimeout(() => document.getElementById("receipt-start").click(), 0); return true;`);
  await untilAlert();
  await wd("POST", `/session/${session}/alert/accept`, {});
  await until(`return [...document.querySelectorAll("tbody tr")].some((r) => r.innerText.includes("overwritten"))`, "the first take marked overwritten");
  await click("receipt-stop");
  await click("hang-up");
  await until(`return document.getElementById("dial")`, "back to ready");
});

test("the customer withdraws consent mid-receipt: confirmed in the window, the customer is not recorded from then on", async () => {
  await submit("dial", { number: "+358405555555", project: "sales" });
  await until(`return document.getElementById("withdraw-consent")`, "the call view");
  await startReceipt("W-1");
  await until(`return !document.querySelector('[data-side="customer"]').innerText.includes("Not recorded")`, "the customer recorded in the receipt");
  // The control asks first, in the page, saying what will happen; cancelling changes nothing.
  await click("withdraw-consent");
  const asked = await until(`return document.getElementById("withdraw-confirm")?.innerText`, "the confirmation");
  assert.match(asked, /neither the customer nor any third party is recorded/);
  assert.match(asked, /voice receipt in progress ends now/);
  assert.match(asked, /cannot be undone/);
  await click("withdraw-no");
  await until(`return !document.getElementById("withdraw-confirm") && document.getElementById("withdraw-consent")`, "the confirmation closed");
  assert.ok(!(await sideText("customer")).includes("Not recorded"), "still recorded after cancelling");
  await click("withdraw-consent");
  await click("withdraw-yes");
  await until(`return document.querySelector('[data-side="customer"]')?.innerText.includes("withdrew consent")`, "the customer side after the withdrawal");
  assert.match(await sideText("customer"), /Not recorded[\s\S]*The customer withdrew consent/);
  assert.match(await exec(`return document.getElementById("consent").innerText`), /withdrawn at \d\d:\d\d/);
  // The take ended there and was kept; the toggle, new receipts and the control itself are refused.
  await until(`return [...document.querySelectorAll("tbody tr")].some((r) => r.innerText.includes("W-1") && r.innerText.includes("kept"))`, "the take kept");
  for (const id of ["customer-on", "receipt-start", "withdraw-consent"]) {
    assert.equal(await exec(`return document.getElementById(arguments[0]).disabled`, id), true, id);
    assert.match(await exec(`return document.getElementById(arguments[0]).innerText`, `${id}-why`), /declined|withdrew/i, id);
  }
  shot("consent-withdrawn");
  await click("hang-up");
  await until(`return document.getElementById("dial")`, "back to ready");
});

async function startReceipt(order) {
  await until(`const e = document.getElementById("receipt-start"); return e && !e.disabled;`, "voice receipts to be available");
  await exec(`document.getElementById("order").value = arguments[0]; document.getElementById("receipt-start").click(); return true;`, order);
}

async function untilAlert() {
  const end = Date.now() + 10_000;
  for (;;) {
    const text = await wd("GET", `/session/${session}/alert/text`).catch(() => null);
    if (text) return text;
    if (Date.now() > end) throw new Error("no confirmation dialog appeared");
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("in a receipts-only project the customer toggle is refused, and a receipt records the customer", async () => {
  await submit("dial", { number: "+358402222222", project: "orders" });
  await until(`return document.getElementById("customer-on")`, "the call view");
  assert.equal(await exec(`return document.getElementById("customer-on").disabled`), true);
  assert.match(await exec(`return document.getElementById("customer-on-why").innerText`), /does not allow you to record the customer/);
  assert.match(await sideText("customer"), /Not recorded[\s\S]*does not record the customer's voice/);
  await startReceipt("C-3");
  await until(`return !document.querySelector('[data-side="customer"]').innerText.includes("Not recorded")`, "the customer recorded in the receipt");
  await click("receipt-stop");
  await until(`return document.querySelector('[data-side="customer"]').innerText.includes("Not recorded")`, "the customer off again");
  await click("hang-up");
  await until(`return document.getElementById("dial")`, "back to ready");
});

async function openTab(name) {
  await until(`return document.querySelector('[data-tab="${name}"]')`, `the ${name} tab`);
  await exec(`document.querySelector('[data-tab="${name}"]').click(); return true;`);
  await until(`return document.querySelector('[data-tab="${name}"][aria-current="page"]')`, `the ${name} view`);
}

async function signInAs(username) {
  await openTab("settings");
  await click("sign-out");
  await until(`return document.getElementById("signin")`, "the sign-in form");
  await submit("signin", { server: base, username, password: "password-123" });
  await until(`return document.getElementById("dial")`, `${username} signed in`);
}

test("another agent sees the call in the contact card but cannot play it; a supervisor finds and plays it", async () => {
  const admin = (await api("POST", "/login", null, { username: "admin", password: ADMIN })).body.token;
  const { body } = await api("GET", "/recordings?agent=alice&contact=%2B358401234567", admin);
  const id = body.items[0].id;

  // bob, an agent of the same project (which keeps others' calls from agents).
  await signInAs("bob");
  assert.equal(await exec(`return document.querySelector('[data-tab="recordings"]')`), null, "no recordings view for agents");
  await submit("lookup", { "lookup-contact": "+358401234567" });
  await until(`return document.getElementById("contact-card")?.innerText.includes("alice")`, "alice's call in bob's contact card");
  assert.equal(await exec(`return document.querySelector("#contact-card [data-play]")`), null, "no play button");
  assert.match(await exec(`return document.getElementById("contact-card").innerText`), /not yours to hear/);
  // Asking anyway, from the window and straight at the store: refused.
  const refused = await wd("POST", `/session/${session}/execute/async`, {
    script: `const done = arguments[arguments.length - 1]; window.__TAURI__.core.invoke("play", { id: arguments[0] }).then(() => done("played"), (e) => done(e.message));`,
    args: [id],
  });
  assert.notEqual(refused, "played");
  assert.match(refused, /cannot be played.*may not listen/);
  const bob = (await api("POST", "/login", null, { username: "bob", password: "password-123" })).body.token;
  assert.equal((await fetch(`${base}/api/v1/recordings/${id}/audio`, { headers: { authorization: `Bearer ${bob}` } })).status, 404);

  // sue, the project's supervisor: the recordings view, filtered by agent, plays it.
  await signInAs("sue");
  await openTab("recordings");
  await submit("search", { "f-agent": "alice", "f-contact": "", "f-project": "", "f-from": "", "f-to": "" });
  await until(`return document.querySelector("#recordings [data-play]")`, "alice's recordings");
  const rows = await exec(`return [...document.querySelectorAll("#recordings tbody tr")].map((r) => r.innerText)`);
  assert.ok(rows.length >= 1 && rows.every((r) => r.includes("alice")), rows.join(" | "));
  assert.ok(rows.some((r) => r.includes("+358401234567")), rows.join(" | "));
  await submit("search", { "f-agent": "bob", "f-contact": "", "f-project": "", "f-from": "", "f-to": "" });
  await until(`return document.getElementById("recordings")?.innerText.includes("No recordings match")`, "nothing for bob");
  await submit("search", { "f-agent": "alice", "f-contact": "+358401234567", "f-project": "", "f-from": "", "f-to": "" });
  await until(`return document.querySelectorAll("#recordings tbody tr").length === 1`, "one call with that contact");
  shot("recordings");
  await exec(`document.querySelector("#recordings [data-play]").click(); return true;`);
  const duration = await until(`const a = document.getElementById("audio"); return a && a.duration > 1 && a.duration`, "the player");
  assert.ok(duration > 1.5, `${duration} s`);
  await exec(`document.getElementById("close-player")?.click(); return true;`);
});

test("when the store goes down the window says so, keeps recording, and recovers on its own", async () => {
  await signInAs("alice");
  await openTab("phone");
  server.kill("SIGTERM");
  await until(`return document.getElementById("offline-banner")`, "the offline banner");
  assert.match(await exec(`return document.getElementById("offline-banner").innerText`), /Offline since .*cached recording settings/s);
  shot("offline");
  // A call in a project whose policy is cached is still recorded, and waits for upload.
  await submit("dial", { number: "+358403333333", project: "sales" });
  await until(`return document.querySelector('[data-side="agent"]')?.innerText.includes("Recording")`, "the call recording offline");
  assert.match(await exec(`return document.querySelector(".bar").innerText`), /cached recording settings/);
  await new Promise((r) => setTimeout(r, 500));
  await click("hang-up");
  await until(`return document.getElementById("dial")`, "back to ready");
  // The cached settings serve at most offline_policy_days (7 by default) after the store last
  // confirmed them: made a month old, the window says, in red, that calls go unrecorded, and
  // a call is refused with the date.
  assert.match(await exec(`return document.querySelector('[data-cached-settings="sales"]').innerText`), /calls are recorded under the settings the store confirmed on .*, until/);
  const db = join(dir, "agent", "callrec.db");
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().replace(/\.(\d+)Z$/, (_, ms) => `.${ms.padEnd(9, "0")}Z`);
  execFileSync("python3", ["-c", `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
c.execute("UPDATE cached_policies SET fetched_at = ? WHERE project_id = 'sales'", (sys.argv[2],))
c.commit()`, db, monthAgo]);
  const red = await until(`const e = document.querySelector('[data-cached-settings="sales"].alert'); return e && e.innerText`, "the too-old settings in red");
  assert.match(red, /Project sales: calls are not recorded\. Its recording settings were last confirmed by the store on .*, more than 7 days ago/);
  shot("offline-settings-too-old");
  await submit("dial", { number: "+358403333334", project: "sales" });
  const refused = await until(`return document.getElementById("notice-dial")?.innerText`, "the refusal");
  assert.match(refused, /last confirmed by the store on \d{4}-\d\d-\d\d, more than 7 days ago.*this call is not recorded/);
  assert.equal(await exec(`return document.querySelector('[data-side="agent"]')`), null, "no call started");
  await openTab("uploads");
  await until(`return document.querySelector("#uploads progress")`, "the call waiting");
  server = startServer();
  await until(`return !document.getElementById("offline-banner")`, "the banner gone once the store is back", 30_000);
  // The background pass may upload it first; otherwise "Upload now" does.
  await exec(`document.getElementById("retry")?.click(); return true;`);
  await until(`return document.getElementById("uploads")?.innerText.includes("Every recording is in the store")`, "the upload confirmed", 30_000);
});

/// baresip on a free port in `home`, a `hz` tone as its microphone; auto-answers. `extra`
/// arguments (e.g. `-e /dial URI`, `-t SECONDS`).
async function baresip(home, hz, extra = []) {
  execFileSync("mkdir", ["-p", join(home, "dump")]);
  execFileSync("sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", join(home, "mic.wav"), "synth", "30", "sine", String(hz), "vol", "0.5"]);
  const [port, rtp] = [await freePort(), await freePort()];
  const config = [
    "poll_method epoll", `sip_listen 127.0.0.1:${port}`,
    `audio_player aufile,${home}/heard.wav`, `audio_source aufile,${home}/mic.wav`, `audio_alert aufile,${home}/mic.wav`,
    "audio_srate 8000", "audio_channels 1", `rtp_ports ${rtp}-${rtp + 10}`, "module_path /usr/lib/baresip/modules",
    "module g711.so", "module aufile.so", "module_app account.so", "module_app menu.so",
  ].join("\n");
  writeFileSync(join(home, "config"), `${config}\n`);
  writeFileSync(join(home, "accounts"), `<sip:bob@127.0.0.1:${port}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n`);
  const log = openSync(join(home, "baresip.log"), "w");
  const child = spawn("baresip", ["-f", home, "-n", "127.0.0.1", ...extra], { stdio: ["ignore", log, "ignore"] });
  const end = Date.now() + 10_000;
  while (!readFileSync(join(home, "baresip.log"), "utf8").includes("baresip is ready")) {
    if (Date.now() > end) throw new Error("baresip did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child };
}

test("the softphone: the agent calls, mutes, holds, conferences and hangs up; a call rings in and is answered", async () => {
  await signInAs("alice");
  // Settings: the SIP account (direct calls on loopback, no registrar).
  await openTab("settings");
  const sipPort = await freePort();
  await submit("sip-account", { "sip-listen": `127.0.0.1:${sipPort}`, "sip-registrar": "", "sip-user": "" });
  await until(`return document.getElementById("phone-status")?.innerText.includes("Listening on")`, "the softphone connected");
  await openTab("phone");
  assert.match(await until(`return document.getElementById("softphone-status")?.innerText`, "the softphone status"), /Softphone on 127\.0\.0\.1:\d+ · direct calls/);

  const peers = mkdtempSync(join(tmpdir(), "callrec-peers-"));
  const bob = await baresip(join(peers, "bob"), 1000, ["-t", "60"]);
  const carol = await baresip(join(peers, "carol"), 600, ["-t", "60"]);
  try {
    await submit("dial", { number: `sip:bob@127.0.0.1:${bob.port}`, project: "sales" });
    await until(`return document.getElementById("phone")?.innerText.includes("sip:bob@127.0.0.1:${bob.port}")`, "the call with bob");
    await until(`return document.querySelector('[data-side="agent"]')?.innerText.includes("Recording")`, "the agent side recorded");

    // The call's timer runs, and the line says how it is doing.
    await until(`return document.getElementById("timer")?.innerText >= "00:02"`, "the timer to reach 2 s");
    assert.match(await exec(`return document.getElementById("line")?.innerText ?? ""`), /^Line: you miss 0\.\d% of the customer/);
    // Mute is not pause: the window says the call is still recorded.
    await click("mute");
    const note = await until(`return document.getElementById("muted-note")?.innerText`, "the mute note");
    assert.match(note, /still recorded/);
    assert.match(await sideText("agent"), /Recording/);
    await click("unmute");
    await until(`return !document.getElementById("muted-note")`, "unmuted");

    // Hold and resume.
    await click("hold-call");
    await until(`return document.getElementById("held")`, "on hold");
    await click("resume-call");
    await until(`return !document.getElementById("held")`, "resumed");

    // A third party: in a contact-center project, never recorded, and the call bar says so.
    await submit("add-party", { "party-to": `sip:bob@127.0.0.1:${carol.port}` });
    const row = await until(`return document.querySelector('[data-party="p1"]')?.innerText.includes("in the call") && document.querySelector('[data-party="p1"]').innerText`, "carol in the call");
    assert.match(row, /Not recorded/);
    // The keypad sends to the party chosen (say a phone menu called in), and only to it.
    await exec(`const to = document.getElementById("dtmf-to"); to.value = "p1"; to.dispatchEvent(new Event("change")); return true;`);
    await until(`return document.getElementById("dtmf-to")?.value === "p1"`, "the keypad set to p1");
    await exec(`document.querySelector('#dtmf [data-key="5"]').click(); return true;`);
    const digits = (name) => readFileSync(join(peers, name, "baresip.log"), "utf8").match(/received event: '5' \(end=1\)/g)?.length ?? 0;
    const end = Date.now() + 5_000;
    while (digits("carol") === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.equal(digits("carol"), 1, "carol got the digit, once");
    assert.equal(digits("bob"), 0, "the customer did not");
    shot("softphone-conference");
    await click("hang-up");
    await until(`return document.getElementById("dial")`, "back to ready");

    // A blind transfer: bob is referred to carol, calls her, and the agent's call ends.
    const established = () => (readFileSync(join(peers, "carol", "baresip.log"), "utf8").match(/Call established/g) ?? []).length;
    const before = established();
    // This call is placed from bob's contact card.
    await submit("lookup", { "lookup-contact": `sip:bob@127.0.0.1:${bob.port}` });
    await until(`return document.getElementById("call-contact")?.innerText.includes("Call sip:bob@")`, "the contact card's call button");
    await click("call-contact");
    await until(`return document.getElementById("phone")?.innerText.includes("sip:bob@")`, "the second call with bob");
    await submit("transfer", { "transfer-to": `sip:bob@127.0.0.1:${carol.port}` });
    await until(`return document.getElementById("dial")`, "the call ended by the transfer", 30_000);
    assert.ok(established() > before, "carol got bob's call");

    // A call rings in: answered from the ring banner, ended by the caller's hang-up.
    const dave = await baresip(join(peers, "dave"), 800, ["-t", "6", "-e", `/dial sip:agent@127.0.0.1:${sipPort}`]);
    try {
      await until(`return document.getElementById("sip-ring")?.innerText.includes("Incoming call")`, "the ring");
      assert.match(await exec(`return document.getElementById("ring-from").innerText`), /sip:bob@127\.0\.0\.1/);
      await click("answer");
      await until(`return document.getElementById("phone")`, "the inbound call");
      assert.match(await exec(`return document.querySelector(".bar").innerText`), /Inbound/);
      shot("softphone-inbound");
      await until(`return document.getElementById("dial")`, "the call ended by the caller", 20_000);
    } finally {
      dave.child.kill();
    }
  } finally {
    bob.child.kill();
    carol.child.kill();
    rmSync(peers, { recursive: true, force: true });
  }
});
