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

test("the recordings browser filters and plays, and the playback is audited", async () => {
  // A call recorded and uploaded by the real binaries, as an agent of sales-fr.
  const run = (args, env = {}) => execFileSync(BIN, args, { env: { ...process.env, CALLREC_DATA: join(dir, "agent"), CALLREC_CA: join(TLS, "ca.pem"), ...env } });
  execFileSync("sox", ["-n", "-r", "16000", "-c", "1", join(dir, "tone.wav"), "synth", "3", "sine", "440"]);
  writeFileSync(join(dir, "rec.json"), JSON.stringify({ project: { id: "sales-fr", kind: "contact_center", record_mode: "both" } }));
  writeFileSync(join(dir, "rec.jsonl"), [
    { t_ms: 0, event: "call_started", direction: "outbound", consent: "granted" },
    { t_ms: 3000, event: "call_ended" },
  ].map((e) => JSON.stringify(e)).join("\n"));
  const call = join(dir, "call");
  run(["record", "--settings", join(dir, "rec.json"), "--events", join(dir, "rec.jsonl"), "--agent", join(dir, "tone.wav"),
    "--customer", join(dir, "tone.wav"), "--contact", "contact-7", "--out", call]);
  run(["login", "--server", base, "--user", "alice"], { CALLREC_PASSWORD: "password-123" });
  run(["upload", call]);

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
