// The admin console in a real Chromium (Debian's, driven by playwright-core) against a real
// `callrec server` on loopback over TLS: an admin sets every recording option of one project
// of each kind through the page, and the API and the policy engine read back exactly that.
//
// Needs CALLREC_BIN (the callrec binary) and CALLREC_TEST_TLS (a folder with a test CA,
// ca.pem, and the store's cert.pem and key.pem it signed; node trusts the CA through
// NODE_EXTRA_CA_CERTS); scripts/test sets all three. CALLREC_SCREENSHOTS=DIR also saves
// screenshots of the main pages (for docs/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { X509Certificate, createHash } from "node:crypto";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.CALLREC_BIN;
const TLS = process.env.CALLREC_TEST_TLS;
const ADMIN = "admin-password-1";
const SHOTS = process.env.CALLREC_SCREENSHOTS;
let server, browser, base, dir;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function api(method, path, token, body) {
  const resp = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: resp.status, body: await resp.json().catch(() => null) };
}

async function token(username, password) {
  return (await api("POST", "/login", null, { username, password })).body.token;
}

before(async () => {
  assert.ok(BIN, "set CALLREC_BIN to the callrec binary");
  assert.ok(TLS, "set CALLREC_TEST_TLS to a folder made by callrec-test-ca (scripts/test does)");
  dir = mkdtempSync(join(tmpdir(), "callrec-console-"));
  const port = await freePort();
  base = `https://localhost:${port}`;
  server = spawn(BIN, ["server", "--data", join(dir, "store"), "--listen", `127.0.0.1:${port}`,
    "--tls-cert", join(TLS, "cert.pem"), "--tls-key", join(TLS, "key.pem")], {
    env: { ...process.env, CALLREC_ADMIN_PASSWORD: ADMIN }, stdio: "ignore",
  });
  for (let i = 0; i < 200; i++) {
    try { await fetch(`${base}/api/v1/openapi.json`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  // Chromium trusts exactly the store's certificate (its public key pinned), as a browser on an
  // agent's machine trusts the company's CA: the console runs over a checked TLS link.
  const spki = new X509Certificate(readFileSync(join(TLS, "cert.pem"))).publicKey.export({ type: "spki", format: "der" });
  const pin = createHash("sha256").update(spki).digest("base64");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      `--ignore-certificate-errors-spki-list=${pin}`],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signedIn(user = "admin", password = ADMIN) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(10_000);
  await page.goto(`${base}/admin`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  // An admin lands on the Projects page; anyone else stays on a refusal.
  if (user === "admin") await page.getByRole("heading", { name: "Projects" }).waitFor();
  return page;
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

test("an admin creates a contact-center project with every option and reads it back", async () => {
  const page = await signedIn();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  await page.getByRole("button", { name: "Create" }).click();
  // The kind is asked first, as in the reference text.
  await page.getByText("Which type of project?").waitFor();
  await shot(page, "create-choose-kind");
  await page.getByRole("button", { name: /Contact center \(Outbound\)/ }).click();
  await page.getByLabel("Name").fill("Sales France");
  await page.getByLabel("Id").fill("sales-fr");
  const mode = page.getByLabel("Default record mode for projects");
  // "Use the global project setting" says what the global value is now.
  assert.match(await mode.locator("option").first().textContent(), /Use the global project setting \(currently: Record both agent and customer voices\)/);
  assert.equal(await page.getByLabel("Conference calls").count(), 0, "contact-center projects have no conference option");
  await mode.selectOption({ label: "Record agent voice only and include customer in voice receipts. Forbid agent to record customer outside of voice receipts" });
  await page.getByLabel("Start call with recording paused").check();
  await page.getByLabel("Agents can listen to other agents' call recordings").check();
  await page.getByLabel("Agent can record multiple voice receipts per order").check();
  await page.getByLabel("Recording holding time (months)").fill("14");
  // Receipts are order evidence: kept longer than the call here.
  await page.getByLabel("Voice receipt holding time (months)").fill("24");
  await shot(page, "project-contact-center");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByText("The change applies to calls that start from now on").waitFor();
  await shot(page, "project-list");
  const row = page.getByRole("row", { name: /Sales France/ });
  assert.match(await row.textContent(), /Forbid agent to record customer outside of voice receipts/);
  assert.match(await row.textContent(), /14 months/);

  const admin = await token("admin", ADMIN);
  const { body: project } = await api("GET", "/projects/sales-fr", admin);
  assert.deepEqual(project, {
    id: "sales-fr", name: "Sales France", kind: "contact_center", record_mode: "agent_only_receipts_forbid_customer",
    start_paused: true, agents_can_listen_to_others: true, multiple_receipts_per_order: true, holding_months: 14,
    receipt_holding_months: 24,
  });
  const { body: policy } = await api("GET", "/projects/sales-fr/policy", admin);
  assert.deepEqual(policy.policy, {
    kind: "contact_center", record_mode: "agent_only_receipts_forbid_customer", conference_mode: null,
    start_paused: true, agents_can_listen_to_others: true, multiple_receipts_per_order: true, holding_months: 14,
    receipt_holding_months: 24,
  });
  // The policy engine resolves what the console saved exactly as the store does.
  const { body: global } = await api("GET", "/settings", admin);
  const { id, name, ...settings } = project;
  writeFileSync(join(dir, "s.json"), JSON.stringify({ global, project: { id, ...settings } }));
  writeFileSync(join(dir, "e.jsonl"), "");
  const simulated = JSON.parse(execFileSync(BIN, ["simulate", "--settings", join(dir, "s.json"), "--events", join(dir, "e.jsonl")]));
  assert.deepEqual(simulated.resolved, policy.policy);
  await page.close();
});

test("a customer-service project gets the conference options and the global settings apply", async () => {
  const page = await signedIn();
  // Global settings first: the project will inherit them.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  await page.locator("#customer_service\\.conference_mode").selectOption({ label: "Record both agent and customer voices but stop recording when the third-party joins" });
  await page.getByLabel("Recording holding time (months)").fill("6");
  await page.getByLabel("Recording while the store is unreachable (days)").fill("3");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("The change applies to calls that start from now on").waitFor();
  await shot(page, "settings");
  const { body: saved } = await api("GET", "/settings", await token("admin", ADMIN));
  assert.equal(saved.offline_policy_days, 3);
  assert.equal(saved.receipt_holding_months, null, "receipts kept as long as their call");

  await page.goto(`${base}/admin#/projects/new`);
  await page.getByRole("button", { name: /Customer service \(Omni\)/ }).click();
  await page.getByLabel("Name").fill("Support");
  await page.getByLabel("Id").fill("support");
  const modes = await page.getByLabel("Default record mode for projects").locator("option").allTextContents();
  assert.ok(modes.includes("No recording"), "customer service offers No recording");
  assert.ok(!modes.some((m) => m.includes("voice receipts")), "customer service has no receipt modes");
  assert.equal(await page.getByLabel("Agent can record multiple voice receipts per order").count(), 0);
  const conference = page.getByLabel("Conference calls");
  assert.match(await conference.locator("option").first().textContent(), /currently: Record both agent and customer voices but stop recording when the third-party joins/);
  await page.getByLabel("Default record mode for projects").selectOption({ label: "Record agent voice only and allow agent to record customer" });
  await shot(page, "project-customer-service");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByText("The change applies to calls that start from now on").waitFor();

  const admin = await token("admin", ADMIN);
  const { body: policy } = await api("GET", "/projects/support/policy", admin);
  assert.deepEqual(policy.policy, {
    kind: "customer_service", record_mode: "agent_only_allow_customer", conference_mode: "stop_on_third_party",
    start_paused: false, agents_can_listen_to_others: false, multiple_receipts_per_order: false, holding_months: 6,
    receipt_holding_months: null,
  });

  // Now set the project's own value for every option and read them back.
  await page.getByRole("link", { name: "Support" }).click();
  await page.getByLabel("Conference calls").selectOption({ label: "Record all participants" });
  await page.getByLabel("Start call with recording paused").check();
  await page.getByLabel("Recording holding time (months)").fill("9");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("The change applies to calls that start from now on").waitFor();
  const { body: after } = await api("GET", "/projects/support/policy", admin);
  assert.deepEqual(after.policy, {
    kind: "customer_service", record_mode: "agent_only_allow_customer", conference_mode: "all_participants",
    start_paused: true, agents_can_listen_to_others: false, multiple_receipts_per_order: false, holding_months: 9,
    receipt_holding_months: null,
  });
  const { body: project } = await api("GET", "/projects/support", admin);
  const { body: global } = await api("GET", "/settings", admin);
  const { id, name, ...settings } = project;
  writeFileSync(join(dir, "s.json"), JSON.stringify({ global, project: { id, ...settings } }));
  writeFileSync(join(dir, "e.jsonl"), "");
  const simulated = JSON.parse(execFileSync(BIN, ["simulate", "--settings", join(dir, "s.json"), "--events", join(dir, "e.jsonl")]));
  assert.deepEqual(simulated.resolved, after.policy);
  await page.close();
});

test("an invalid holding time shows its error beside the field and saves nothing", async () => {
  const page = await signedIn();
  await page.goto(`${base}/admin#/projects/new`);
  await page.getByRole("button", { name: /Contact center \(Outbound\)/ }).click();
  await page.getByLabel("Name").fill("Bad");
  await page.getByLabel("Id").fill("bad");
  await page.getByLabel("Recording holding time (months)").fill("121");
  await page.getByRole("button", { name: "Create" }).click();
  const error = page.locator('[data-error-for="holding_months"]');
  await error.filter({ hasText: "1 to 120" }).waitFor();
  assert.match(await error.textContent(), /an integer from 1 to 120, got 121/);
  assert.equal(await page.getByLabel("Recording holding time (months)").getAttribute("aria-invalid"), "true");
  await shot(page, "invalid-holding-time");
  const admin = await token("admin", ADMIN);
  assert.equal((await api("GET", "/projects/bad", admin)).status, 404);
  await page.close();
});

test("users are created and assigned to projects; the audit log shows the changes", async () => {
  const page = await signedIn();
  await page.getByRole("link", { name: "Users" }).click();
  await page.getByRole("heading", { name: "Create a user" }).waitFor();
  await page.getByLabel("User name").fill("alice");
  await page.getByLabel("Password").fill("password-123");
  await page.getByLabel("Role").selectOption("agent");
  await page.getByLabel("Sales France").check();
  await page.getByRole("button", { name: "Save user" }).click();
  await page.getByText("User created.").waitFor();
  assert.match(await page.getByRole("row", { name: /alice/ }).textContent(), /sales-fr/);
  await shot(page, "users");
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  await page.getByLabel("Kind").selectOption("project_created");
  const rows = await page.locator("#audit-list tbody tr").allTextContents();
  assert.ok(rows.some((r) => r.includes("sales-fr")) && rows.some((r) => r.includes("support")), rows.join("\n"));
  await page.getByLabel("Kind").selectOption("");
  await shot(page, "audit-log");
  await page.close();
});

test("a non-admin is refused, by the page and by the API", async () => {
  const page = await signedIn("alice", "password-123");
  await page.getByText("This console is for admins").waitFor();
  assert.match(await page.locator(".alert").textContent(), /role is agent/);
  assert.equal(await page.locator("#nav").isHidden(), true);
  const alice = await token("alice", "password-123");
  assert.equal((await api("PUT", "/settings", alice, { holding_months: 1 })).status, 403);
  assert.equal((await api("POST", "/projects", alice, { name: "x", kind: "contact_center", record_mode: "both" })).status, 403);
  await page.close();
});

// A 3-second call of `contact` recorded and uploaded by the real binaries, as alice (an agent of
// sales-fr); `events` go between call_started and call_ended (voice receipts). Its id.
let calls = 0;
function recordCall(contact, events = []) {
  const run = (args, env = {}) => execFileSync(BIN, args, { env: { ...process.env, CALLREC_DATA: join(dir, "agent"), CALLREC_CA: join(TLS, "ca.pem"), ...env } });
  execFileSync("sox", ["-n", "-r", "16000", "-c", "1", join(dir, "tone.wav"), "synth", "3", "sine", "440"]);
  writeFileSync(join(dir, "rec.json"), JSON.stringify({ project: { id: "sales-fr", kind: "contact_center", record_mode: "both" } }));
  writeFileSync(join(dir, "rec.jsonl"), [
    { t_ms: 0, event: "call_started", direction: "outbound", consent: "granted" },
    ...events,
    { t_ms: 3000, event: "call_ended" },
  ].map((e) => JSON.stringify(e)).join("\n"));
  calls += 1;
  const call = join(dir, `call-${calls}`);
  run(["record", "--settings", join(dir, "rec.json"), "--events", join(dir, "rec.jsonl"), "--agent", join(dir, "tone.wav"),
    "--customer", join(dir, "tone.wav"), "--contact", contact, "--out", call]);
  // Read before the upload: the outbox deletes the folder once the store has the call.
  const id = JSON.parse(readFileSync(join(call, "recording.json"), "utf8")).call_id;
  run(["login", "--server", base, "--user", "alice"], { CALLREC_PASSWORD: "password-123" });
  run(["upload", call]);
  return id;
}

test("the recordings browser filters and plays, and the playback is audited", async () => {
  recordCall("contact-7");

  const page = await signedIn();
  await page.getByRole("link", { name: "Recordings" }).click();
  await page.getByRole("heading", { name: "Recordings" }).waitFor();
  await page.getByLabel("Contact").fill("contact-7");
  await page.getByRole("button", { name: "Filter" }).click();
  const row = page.getByRole("row", { name: /contact-7/ });
  await row.waitFor();
  assert.match(await row.textContent(), /sales-fr\s*alice\s*contact-7\s*3 s/);
  await page.getByLabel("Contact").fill("nobody");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByText("No recordings.").waitFor();
  await page.getByLabel("Contact").fill("contact-7");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByRole("button", { name: "Play" }).click();
  const audio = page.locator("#player audio");
  await audio.waitFor();
  assert.match(await audio.getAttribute("src"), /^blob:/);
  await page.waitForFunction(() => document.querySelector("#player audio")?.duration > 2.9);
  await shot(page, "recordings");
  const admin = await token("admin", ADMIN);
  const { body: log } = await api("GET", "/audit?limit=1000", admin);
  assert.ok(log.some((e) => e.action === "playback" && e.actor === "admin"), "the playback is in the audit log");
  await page.close();
});

test("voice receipts are found by order id and each plays on its own", async () => {
  // One call with two orders confirmed: each take is a receipt of its own.
  recordCall("contact-8", [
    { t_ms: 500, event: "receipt_start", order_id: "A-100" },
    { t_ms: 1500, event: "receipt_stop" },
    { t_ms: 1800, event: "receipt_start", order_id: "B-200" },
    { t_ms: 2600, event: "receipt_stop" },
  ]);
  const page = await signedIn();
  await page.getByRole("link", { name: "Voice receipts" }).click();
  await page.getByRole("heading", { name: "Voice receipts" }).waitFor();
  // Unfiltered, both takes are listed.
  await page.getByRole("row", { name: /B-200/ }).waitFor();
  await page.getByLabel("Order id").fill("A-100");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForFunction(() => document.querySelectorAll("#receipt-list tbody tr").length === 1);
  const row = page.getByRole("row", { name: /A-100/ });
  // Order id, take, call started, agent, contact, customer voice recorded, expires.
  assert.match(await row.textContent(), /A-100\s*1\s*.+\s*alice\s*contact-8\s*Yes\s*\S+/);
  await page.getByRole("button", { name: "Play voice receipt A-100 take 1" }).click();
  const audio = page.locator("#player audio");
  await audio.waitFor();
  assert.match(await audio.getAttribute("src"), /^blob:/);
  // The take alone: about a second, not the 3-second call.
  await page.waitForFunction(() => {
    const a = document.querySelector("#player audio");
    return a?.readyState >= 1 && a.duration > 0.9 && a.duration < 1.2;
  });
  assert.match(await page.locator("#player h2").textContent(), /Voice receipt for order A-100, take 1/);
  await shot(page, "voice-receipts");
  await page.getByLabel("Order id").fill("Z-999");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("No voice receipts.").waitFor();
  const admin = await token("admin", ADMIN);
  const { body: log } = await api("GET", "/audit?action=playback&limit=1000", admin);
  assert.ok(log.some((e) => e.actor === "admin" && e.detail.order_id === "A-100"), "the receipt's playback is in the audit log");
  await page.close();
});

test("a legal hold on a contact keeps its calls from deletion on request until it is lifted", async () => {
  const id = recordCall("contact-9");
  const admin = await token("admin", ADMIN);
  const page = await signedIn();
  await page.getByRole("link", { name: "Legal holds" }).click();
  await page.getByRole("heading", { name: "Place a legal hold" }).waitFor();
  await page.getByText("No legal hold in force.").waitFor();
  // A hold without a reason: said beside the reason, nothing placed, nothing asked.
  await page.getByLabel("Contact", { exact: true }).fill("contact-9");
  await page.getByRole("button", { name: "Place hold…" }).click();
  const reasonError = page.locator('#hold [data-error-for="reason"]');
  await reasonError.filter({ hasText: "say why" }).waitFor();
  assert.equal(await page.getByLabel("Reason", { exact: true }).getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByRole("alertdialog").count(), 0);
  await shot(page, "legal-hold-no-reason");
  assert.deepEqual((await api("GET", "/holds", admin)).body, []);

  // With a reason: the page says what the hold does before placing it.
  await page.getByLabel("Reason", { exact: true }).fill("dispute #77");
  await page.getByRole("button", { name: "Place hold…" }).click();
  const confirm = page.getByRole("alertdialog");
  await confirm.waitFor();
  assert.match(await confirm.textContent(), /Every recording of contact contact-9, and any future one, will be kept past its expiry and past deletion requests until the hold is lifted\./);
  await shot(page, "legal-hold-confirm");
  await page.getByRole("button", { name: "Place the hold" }).click();
  await page.getByText("Legal hold placed on contact contact-9.").waitFor();
  const held = page.getByRole("row", { name: /contact-9/ });
  assert.match(await held.textContent(), /Contact contact-9\s*dispute #77\s*admin[\s\S]*In force/);
  const { body: holds } = await api("GET", "/holds", admin);
  assert.equal(holds.length, 1);
  assert.equal(holds[0].contact, "contact-9");
  await shot(page, "legal-holds");

  // A hold on a recording the store does not have: the store's answer beside the id.
  await page.getByLabel("One recording").check();
  await page.getByLabel("Recording id").fill("00000000-0000-4000-8000-000000000000");
  await page.getByLabel("Reason", { exact: true }).fill("case 12");
  await page.getByRole("button", { name: "Place hold…" }).click();
  await page.getByRole("button", { name: "Place the hold" }).click();
  await page.locator('[data-error-for="recording"]').filter({ hasText: "no recording in the store has this id" }).waitFor();
  assert.equal((await api("GET", "/holds", admin)).body.length, 1);

  // Deletion on request, from the keyboard: the confirmation says what it does; Escape goes back.
  await page.getByRole("link", { name: "Delete on request" }).click();
  await page.getByRole("heading", { name: "Delete on request" }).waitFor();
  await page.getByLabel("Contact", { exact: true }).fill("contact-9");
  await page.getByLabel("Reason", { exact: true }).fill("erasure request #5");
  await page.getByLabel("Reason", { exact: true }).press("Tab");
  await page.keyboard.press("Enter"); // the focused "Delete…"
  await confirm.waitFor();
  const said = await confirm.textContent();
  for (const words of [/Every recording and voice receipt of contact contact-9 will be deleted from the store now/, /cannot be undone/,
    /Recordings under a legal hold are kept/, /Agents' machines delete their copies at their next contact with the store/]) {
    assert.match(said, words);
  }
  await shot(page, "delete-on-request-confirm");
  await page.keyboard.press("Escape");
  await confirm.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Delete…");
  assert.equal((await api("GET", `/recordings/${id}`, admin)).status, 200, "going back deletes nothing");
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Delete permanently" }).click();
  const result = page.locator("#erase-result");
  await result.getByText("0 calls deleted, 1 call kept under a legal hold.").waitFor();
  assert.match(await result.textContent(), new RegExp(`Kept under a legal hold: ${id}`));
  assert.equal((await api("GET", `/recordings/${id}`, admin)).status, 200, "the held call stays");

  // Lifted, with a reason; then the same request deletes it.
  await page.getByRole("link", { name: "Legal holds" }).click();
  await page.getByRole("button", { name: "Lift the legal hold on contact contact-9" }).click();
  const lift = page.getByRole("alertdialog");
  await lift.waitFor();
  assert.match(await lift.textContent(), /Lifting: recordings past their expiry will be deleted at the next sweep \(within a minute\)/);
  await page.getByRole("button", { name: "Lift the hold" }).click();
  await lift.locator('[data-error-for="reason"]').filter({ hasText: "say why" }).waitFor();
  await page.getByLabel("Reason for lifting").fill("dispute settled");
  await shot(page, "legal-hold-lift");
  await page.getByRole("button", { name: "Lift the hold" }).click();
  await page.getByText("Legal hold on contact contact-9 lifted.").waitFor();
  await page.getByText("No legal hold in force.").waitFor();
  await page.getByLabel("Show lifted holds too").check();
  assert.match(await page.getByRole("row", { name: /contact-9/ }).textContent(), /Lifted .+ by admin: dispute settled/);

  await page.getByRole("link", { name: "Delete on request" }).click();
  await page.getByLabel("Contact", { exact: true }).fill("contact-9");
  await page.getByLabel("Reason", { exact: true }).fill("erasure request #5");
  await page.getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("button", { name: "Delete permanently" }).click();
  await result.getByText("1 call deleted, 0 calls kept under a legal hold.").waitFor();
  assert.match(await result.textContent(), new RegExp(`Deleted: ${id}`));
  await shot(page, "delete-on-request");
  assert.equal((await api("GET", `/recordings/${id}`, admin)).status, 404);
  const { body: log } = await api("GET", "/audit?limit=1000", admin);
  for (const action of ["hold_placed", "hold_lifted", "erased_on_request"]) {
    assert.ok(log.some((e) => e.action === action && e.actor === "admin"), `${action} is in the audit log`);
  }
  await page.close();
});

test("an export downloads a ZIP of the contact's calls and is logged", async () => {
  const page = await signedIn();
  await page.getByRole("link", { name: "Export" }).click();
  await page.getByRole("heading", { name: "Export" }).waitFor();
  assert.match(await page.locator("main").textContent(), /logged in the audit log/);
  await page.getByRole("button", { name: "Export" }).click();
  await page.locator('[data-error-for="contact"]').filter({ hasText: "name the contact" }).waitFor();
  await page.getByLabel("Contact").fill("contact-8");
  const downloaded = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export" }).click();
  const download = await downloaded;
  assert.equal(download.suggestedFilename(), "callrec-export-contact-8.zip");
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 2).toString(), "PK");
  await page.getByText("Exported contact contact-8: 1 call, 2 voice receipts").waitFor();
  await shot(page, "export");
  const { body: log } = await api("GET", "/audit?action=exported&limit=10", await token("admin", ADMIN));
  assert.equal(log[0]?.detail.contact, "contact-8");
  await page.close();
});

test("a recording's row leads to a legal hold on that one recording", async () => {
  const admin = await token("admin", ADMIN);
  const { body: found } = await api("GET", "/recordings?contact=contact-7", admin);
  const id = found.items[0].id;
  const page = await signedIn();
  await page.getByRole("link", { name: "Recordings" }).click();
  await page.getByLabel("Contact").fill("contact-7");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => document.querySelectorAll("#rec-list tbody tr").length === 1);
  await page.getByRole("link", { name: /^Hold the call of .+ with contact-7$/ }).click();
  await page.getByRole("heading", { name: "Place a legal hold" }).waitFor();
  assert.equal(await page.getByLabel("One recording").isChecked(), true);
  assert.equal(await page.getByLabel("Recording id").inputValue(), id);
  await page.getByLabel("Reason", { exact: true }).fill("complaint 31");
  await page.getByRole("button", { name: "Place hold…" }).click();
  assert.match(await page.getByRole("alertdialog").textContent(),
    new RegExp(`Recording ${id} and its voice receipts will be kept past their expiry and past deletion requests until the hold is lifted`));
  await page.getByRole("button", { name: "Place the hold" }).click();
  await page.getByText(`Legal hold placed on recording ${id}.`).waitFor();
  assert.match(await page.getByRole("row", { name: new RegExp(id) }).textContent(), /complaint 31[\s\S]*In force/);
  const { body: holds } = await api("GET", "/holds", admin);
  assert.deepEqual(holds.map((h) => [h.recording, h.reason]), [[id, "complaint 31"]]);
  await page.close();
});
