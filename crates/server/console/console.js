// callrec admin console: plain JavaScript over the store's JSON API. No framework, no asset
// from outside the server. The store checks every request; this page only presents them.
"use strict";

const KINDS = {
  contact_center: "Contact center (Outbound)",
  customer_service: "Customer service (Omni)",
};

// The reference text's wording for every choice, with its explanation.
const RECORD_MODES = {
  global: ["Use the global project setting", "Takes the preference set in the Projects page's Settings subpage."],
  both: ["Record both agent and customer voices", "Will record both sides of the conversation."],
  agent_only_allow_customer: ["Record agent voice only and allow agent to record customer", "Will record the agent side of the conversation initially. The agent has the option of switching on customer recording."],
  agent_only_forbid_customer: ["Record agent voice only and forbid agent to record customer", "Will record the agent side of the conversation. The agent will not be able to switch on customer recording."],
  agent_only_receipts_allow_customer: ["Record agent voice only and include customer in voice receipts. Allow agent to record customer outside of voice receipts", "Starts with the agent side of the conversation being recorded, and will automatically activate customer recording if the agent clicks to record a voice receipt. The agent can click to switch on customer recording outside of voice receipts."],
  agent_only_receipts_forbid_customer: ["Record agent voice only and include customer in voice receipts. Forbid agent to record customer outside of voice receipts", "Starts with the agent side of the conversation being recorded, and will automatically activate customer recording if the agent clicks to record a voice receipt. The agent cannot otherwise record the customer."],
  none: ["No recording", "Neither the agent nor the customer will be recorded."],
};
const MODES_BY_KIND = {
  contact_center: ["both", "agent_only_allow_customer", "agent_only_forbid_customer", "agent_only_receipts_allow_customer", "agent_only_receipts_forbid_customer"],
  customer_service: ["both", "agent_only_allow_customer", "agent_only_forbid_customer", "none"],
};
const CONFERENCE_MODES = {
  global: ["Use the global project setting", "Takes the preference set in the Projects page's Settings subpage."],
  all_participants: ["Record all participants", "The recording includes the agent, the original customer, and any further parties who join the conference call."],
  none: ["No recording", "No call recording is created."],
  agent_and_customer_only: ["Record only agent and customer voices", "The recording will not include any further parties added to the call."],
  stop_on_third_party: ["Record both agent and customer voices but stop recording when the third-party joins", "The call will record both sides of the conversation until further parties join, at which point recording stops for all parties."],
};
const EFFECT = "Saved. The change applies to calls that start from now on; calls in progress keep the settings they started with.";

const main = () => document.getElementById("main");
let session = JSON.parse(sessionStorage.getItem("callrec") || "null");
// A message for the next page shown (after a save that moves to another page).
let flash = null;
// Bumped on every navigation: a page whose data arrives after the user moved on is dropped.
let routeSeq = 0;
const stale = (seq) => seq !== routeSeq;

function go(hash, message) {
  flash = message ?? null;
  if (location.hash === hash) route();
  else location.hash = hash; // hashchange renders it
}

function takeFlash() {
  const message = flash;
  flash = null;
  return message;
}

function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function api(method, path, body) {
  const headers = {};
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const resp = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 401 && path !== "/login") {
    signOut("Your session has ended; sign in again.");
    throw new Error("unauthorized");
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  return { status: resp.status, ok: resp.ok, data };
}

function signOut(message) {
  session = null;
  sessionStorage.removeItem("callrec");
  document.getElementById("nav").hidden = true;
  renderSignIn(message);
}

function renderSignIn(message) {
  main().innerHTML = `
    <h1>Sign in</h1>
    ${message ? `<p class="alert" role="alert">${esc(message)}</p>` : ""}
    <form class="card" id="signin">
      <div class="field"><label for="username">User name</label><input type="text" id="username" autocomplete="username" required></div>
      <div class="field"><label for="password">Password</label><input type="password" id="password" autocomplete="current-password" required></div>
      <p class="error" id="signin-error" role="alert"></p>
      <div class="actions"><button type="submit">Sign in</button></div>
    </form>`;
  document.getElementById("signin").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const username = document.getElementById("username").value;
    const password = document.getElementById("password").value;
    const r = await api("POST", "/login", { username, password });
    if (!r.ok) {
      document.getElementById("signin-error").textContent = r.data?.error?.message ?? "Sign-in failed.";
      return;
    }
    if (r.data.user.role !== "admin") {
      renderSignIn(`This console is for admins. You are signed in as ${r.data.user.username}, whose role is ${r.data.user.role}: ask an admin to change your recording settings.`);
      return;
    }
    session = { token: r.data.token, user: r.data.user };
    sessionStorage.setItem("callrec", JSON.stringify(session));
    go(location.hash && location.hash !== "#/" ? location.hash : "#/projects");
  });
  document.getElementById("username").focus();
}

function label(table, key) {
  return (table[key] ?? [key])[0];
}

function clearErrors(form) {
  form.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
}

function showErrors(form, error) {
  clearErrors(form);
  const field = error?.field ?? "";
  const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) ?? form.querySelector("[data-error-for='']");
  // Beside its field, the message need not name the field again.
  const message = error?.message ?? "The store refused the change.";
  if (slot) slot.textContent = field ? message.replace(/^field `[^`]+`: /, "") : message;
  const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
  if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
}

function options(values, table, selected) {
  return values.map((v) => `<option value="${esc(v)}"${v === selected ? " selected" : ""}>${esc(label(table, v))}</option>`).join("");
}

function select(name, labelText, values, table, selected, help) {
  const helps = values.map((v) => `<li><strong>${esc(label(table, v))}.</strong> ${esc(table[v]?.[1] ?? "")}</li>`).join("");
  return `<div class="field"><label for="${name}">${esc(labelText)}</label>
    <select id="${name}" name="${name}">${options(values, table, selected)}</select>
    ${help ? `<p class="help">${esc(help)}</p>` : ""}
    <details class="help"><summary>What each choice does</summary><ul>${helps}</ul></details>
    <p class="error" data-error-for="${name}" role="alert"></p></div>`;
}

function checkbox(name, labelText, checked, help) {
  return `<div class="field check"><label><input type="checkbox" id="${name}" name="${name}"${checked ? " checked" : ""}> ${esc(labelText)}</label>
    <p class="help">${esc(help)}</p><p class="error" data-error-for="${name}" role="alert"></p></div>`;
}

// ---- Projects --------------------------------------------------------------------------

async function renderProjects(notice) {
  const seq = routeSeq;
  const [projects, users] = await Promise.all([api("GET", "/projects"), api("GET", "/users")]);
  const policies = await Promise.all(projects.data.map((p) => api("GET", `/projects/${encodeURIComponent(p.id)}/policy`)));
  if (stale(seq)) return;
  const rows = projects.data.map((p, i) => {
    const policy = policies[i].data?.policy ?? {};
    const members = users.data.filter((u) => u.projects.includes(p.id)).map((u) => `${u.username} (${u.role})`);
    return `<tr>
      <td><a href="#/projects/${encodeURIComponent(p.id)}">${esc(p.name)}</a><br><span class="muted">${esc(p.id)}</span></td>
      <td>${esc(KINDS[p.kind])}</td>
      <td>${esc(label(RECORD_MODES, policy.record_mode))}${p.record_mode === "global" ? ' <span class="muted">(global)</span>' : ""}</td>
      <td>${esc(policy.holding_months)} months${p.holding_months === null ? ' <span class="muted">(global)</span>' : ""}</td>
      <td>${members.length ? members.map(esc).join("<br>") : '<span class="muted">none</span>'}</td></tr>`;
  }).join("");
  main().innerHTML = `
    <h1>Projects</h1>
    ${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ""}
    <h2>Project List</h2>
    <table><thead><tr><th>Project</th><th>Type</th><th>Record mode (in force)</th><th>Holding time</th><th>Members</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="5" class="muted">No projects yet.</td></tr>'}</tbody></table>
    <div class="actions"><a href="#/projects/new"><button type="button">Create</button></a></div>`;
}

function renderChooseKind() {
  main().innerHTML = `
    <h1>Create a project</h1>
    <p>Which type of project?</p>
    <div class="kinds">
      <button type="button" class="secondary" data-kind="contact_center"><strong>${KINDS.contact_center}</strong><br>Outbound calling: voice receipts, agents listening to each other.</button>
      <button type="button" class="secondary" data-kind="customer_service"><strong>${KINDS.customer_service}</strong><br>Inbound service: conference call options.</button>
    </div>`;
  main().querySelectorAll("[data-kind]").forEach((b) => b.addEventListener("click", () => renderProjectForm(null, b.dataset.kind)));
}

async function renderProject(id) {
  const r = await api("GET", `/projects/${encodeURIComponent(id)}`);
  if (!r.ok) { main().innerHTML = `<h1>Project</h1><p class="alert">No project ${esc(id)}.</p>`; return; }
  renderProjectForm(r.data, r.data.kind);
}

async function renderProjectForm(project, kind) {
  const seq = routeSeq;
  const global = (await api("GET", "/settings")).data;
  if (stale(seq)) return;
  const g = kind === "contact_center" ? global.contact_center : global.customer_service;
  const p = project ?? { name: "", id: "", record_mode: "global", conference_mode: "global", start_paused: false, agents_can_listen_to_others: false, multiple_receipts_per_order: false, holding_months: null, receipt_holding_months: null };
  const receiptGlobal = global.receipt_holding_months === null
    ? "the call's holding time" : `${global.receipt_holding_months} months`;
  const modes = ["global", ...MODES_BY_KIND[kind]];
  const modeTable = { ...RECORD_MODES, global: [`Use the global project setting (currently: ${label(RECORD_MODES, g.record_mode)})`, RECORD_MODES.global[1]] };
  const confTable = { ...CONFERENCE_MODES, global: [`Use the global project setting (currently: ${label(CONFERENCE_MODES, global.customer_service.conference_mode)})`, CONFERENCE_MODES.global[1]] };
  main().innerHTML = `
    <h1>${project ? `Project ${esc(project.name)}` : "Create a project"} <span class="muted">· ${esc(KINDS[kind])}</span></h1>
    <form class="card" id="project" novalidate>
      <div class="field"><label for="name">Name</label><input type="text" id="name" name="name" value="${esc(p.name)}" required><p class="error" data-error-for="name" role="alert"></p></div>
      ${project ? "" : `<div class="field"><label for="id">Id</label><input type="text" id="id" name="id" placeholder="made from the name if left empty" pattern="[a-z0-9_-]{1,64}"><p class="help">Lowercase letters, digits, - and _; it cannot change later.</p><p class="error" data-error-for="id" role="alert"></p></div>`}
      <fieldset><legend>Recording settings</legend>
        ${select("record_mode", "Default record mode for projects", modes, modeTable, p.record_mode)}
        ${kind === "customer_service" ? select("conference_mode", "Conference calls", ["global", "all_participants", "none", "agent_and_customer_only", "stop_on_third_party"], confTable, p.conference_mode ?? "global", "If you use conference calls, select what is recorded when further parties join.") : ""}
        ${checkbox("start_paused", "Start call with recording paused", p.start_paused, "If this is ticked, all calls begin with recording off. Agents can switch on recording, following the rule selected above.")}
        ${kind === "contact_center" ? checkbox("agents_can_listen_to_others", "Agents can listen to other agents' call recordings", p.agents_can_listen_to_others, "Recordings are available in the contact card's history table.") : ""}
        ${kind === "contact_center" ? checkbox("multiple_receipts_per_order", "Agent can record multiple voice receipts per order", p.multiple_receipts_per_order, "In some regions and sectors the law requires several voice receipts for an order. If unchecked, recording a second voice receipt for the same order during a call overwrites the first.") : ""}
        <div class="field"><label for="holding_months">Recording holding time (months)</label>
          <input type="number" id="holding_months" name="holding_months" min="1" max="120" step="1" value="${p.holding_months ?? ""}" placeholder="${esc(global.holding_months)} (global setting)">
          <p class="help">Leave empty to use the global setting, currently ${esc(global.holding_months)} months. From 1 to 120.</p>
          <p class="error" data-error-for="holding_months" role="alert"></p></div>
        ${kind === "contact_center" ? `<div class="field"><label for="receipt_holding_months">Voice receipt holding time (months)</label>
          <input type="number" id="receipt_holding_months" name="receipt_holding_months" min="1" max="120" step="1" value="${p.receipt_holding_months ?? ""}" placeholder="global setting">
          <p class="help">Voice receipts are evidence of an order and may be kept longer (or shorter) than the call. Leave empty to use the global setting, currently ${esc(receiptGlobal)}. From 1 to 120.</p>
          <p class="error" data-error-for="receipt_holding_months" role="alert"></p></div>` : ""}
      </fieldset>
      <p class="help">${esc("A change applies to calls that start after it is saved.")}</p>
      <p class="error" data-error-for="" role="alert"></p>
      <div class="actions"><button type="submit">${project ? "Save" : "Create"}</button>
        ${project ? '<button type="button" class="secondary" id="delete">Delete project</button>' : ""}
        <a href="#/projects">Cancel</a></div>
    </form>`;
  const form = document.getElementById("project");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (n) => form.elements[n]?.value;
    const checked = (n) => form.elements[n]?.checked ?? false;
    const months = value("holding_months").trim();
    const body = { name: value("name"), kind, record_mode: value("record_mode"), start_paused: checked("start_paused"),
      holding_months: months === "" ? null : Number(months) };
    if (kind === "customer_service") body.conference_mode = value("conference_mode");
    if (kind === "contact_center") {
      body.agents_can_listen_to_others = checked("agents_can_listen_to_others");
      body.multiple_receipts_per_order = checked("multiple_receipts_per_order");
      const receiptMonths = value("receipt_holding_months").trim();
      body.receipt_holding_months = receiptMonths === "" ? null : Number(receiptMonths);
    }
    if (!project && value("id")) body.id = value("id");
    const r = project ? await api("PUT", `/projects/${encodeURIComponent(project.id)}`, body) : await api("POST", "/projects", body);
    if (!r.ok) { showErrors(form, r.data?.error); return; }
    go("#/projects", EFFECT);
  });
  document.getElementById("delete")?.addEventListener("click", async () => {
    if (!confirm(`Delete project ${project.name}? Its recordings stay until they expire.`)) return;
    const r = await api("DELETE", `/projects/${encodeURIComponent(project.id)}`);
    if (r.ok) go("#/projects", "Project deleted."); else showErrors(form, r.data?.error);
  });
  document.getElementById("name").focus();
}

// ---- Global settings ---------------------------------------------------------------------

async function renderSettings(notice) {
  const seq = routeSeq;
  const g = (await api("GET", "/settings")).data;
  if (stale(seq)) return;
  main().innerHTML = `
    <h1>Settings</h1>
    ${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ""}
    <p>The global project settings: what every project set to "Use the global project setting" records.</p>
    <form class="card" id="settings" novalidate>
      <fieldset><legend>${KINDS.contact_center}</legend>
        ${select("contact_center.record_mode", "Default record mode for projects", MODES_BY_KIND.contact_center, RECORD_MODES, g.contact_center.record_mode)}
      </fieldset>
      <fieldset><legend>${KINDS.customer_service}</legend>
        ${select("customer_service.record_mode", "Default record mode for projects", MODES_BY_KIND.customer_service, RECORD_MODES, g.customer_service.record_mode)}
        ${select("customer_service.conference_mode", "Conference calls", ["all_participants", "none", "agent_and_customer_only", "stop_on_third_party"], CONFERENCE_MODES, g.customer_service.conference_mode)}
      </fieldset>
      <div class="field"><label for="holding_months">Recording holding time (months)</label>
        <input type="number" id="holding_months" name="holding_months" min="1" max="120" step="1" value="${esc(g.holding_months)}">
        <p class="help">How long recordings are kept unless a project overrides it (default three months). From 1 to 120.</p>
        <p class="error" data-error-for="holding_months" role="alert"></p></div>
      <div class="field"><label for="receipt_holding_months">Voice receipt holding time (months)</label>
        <input type="number" id="receipt_holding_months" name="receipt_holding_months" min="1" max="120" step="1" value="${g.receipt_holding_months ?? ""}" placeholder="Use the call's holding time">
        <p class="help">How long voice receipts (contact-center projects) are kept unless a project overrides it. Leave empty to use the call's holding time. From 1 to 120.</p>
        <p class="error" data-error-for="receipt_holding_months" role="alert"></p></div>
      <div class="field"><label for="offline_policy_days">Recording while the store is unreachable (days)</label>
        <input type="number" id="offline_policy_days" name="offline_policy_days" min="1" max="90" step="1" value="${esc(g.offline_policy_days)}">
        <p class="help">When an agent's app cannot reach this store, it records under the settings it last received, for at most this many days after the store last confirmed them; after that it records nothing and tells the agent why (default 7). From 1 to 90.</p>
        <p class="error" data-error-for="offline_policy_days" role="alert"></p></div>
      <p class="error" data-error-for="" role="alert"></p>
      <div class="actions"><button type="submit">Save</button></div>
    </form>`;
  const form = document.getElementById("settings");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (n) => form.elements[n].value;
    const months = v("holding_months").trim();
    const receiptMonths = v("receipt_holding_months").trim();
    const days = v("offline_policy_days").trim();
    const body = { contact_center: { record_mode: v("contact_center.record_mode") },
      customer_service: { record_mode: v("customer_service.record_mode"), conference_mode: v("customer_service.conference_mode") },
      holding_months: months === "" ? null : Number(months),
      receipt_holding_months: receiptMonths === "" ? null : Number(receiptMonths),
      offline_policy_days: days === "" ? null : Number(days) };
    const r = await api("PUT", "/settings", body);
    if (!r.ok) { showErrors(form, r.data?.error); return; }
    go("#/settings", EFFECT);
  });
}

// ---- Users -------------------------------------------------------------------------------

async function renderUsers(notice) {
  const seq = routeSeq;
  const [users, projects] = await Promise.all([api("GET", "/users"), api("GET", "/projects")]);
  if (stale(seq)) return;
  const projectBoxes = (chosen) => projects.data.map((p) => `<label><input type="checkbox" name="projects" value="${esc(p.id)}"${chosen.includes(p.id) ? " checked" : ""}> ${esc(p.name)}</label>`).join(" ");
  const rows = users.data.map((u) => `<tr><td>${esc(u.username)}</td><td>${esc(u.role)}</td><td>${u.projects.map(esc).join(", ") || '<span class="muted">none</span>'}</td>
    <td><button type="button" class="link" data-edit="${esc(u.id)}">Edit</button>${u.id === session.user.id ? "" : ` · <button type="button" class="link" data-delete="${esc(u.id)}">Delete</button>`}</td></tr>`).join("");
  main().innerHTML = `
    <h1>Users</h1>
    ${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ""}
    <table><thead><tr><th>User</th><th>Role</th><th>Projects (agent: belongs to; supervisor: supervises)</th><th></th></tr></thead><tbody>${rows}</tbody></table>
    <h2 id="user-form-title">Create a user</h2>
    <form class="card" id="user" novalidate>
      <input type="hidden" name="id" value="">
      <div class="field"><label for="u-name">User name</label><input type="text" id="u-name" name="username" required><p class="error" data-error-for="username" role="alert"></p></div>
      <div class="field"><label for="u-password">Password</label><input type="password" id="u-password" name="password" autocomplete="new-password"><p class="help">At least 8 characters (12 for an admin); leave empty to keep the current one when editing. A new password, or a new role, ends the user's sessions.</p><p class="error" data-error-for="password" role="alert"></p></div>
      <div class="field"><label for="u-role">Role</label><select id="u-role" name="role"><option value="agent">Agent</option><option value="supervisor">Supervisor</option><option value="admin">Admin</option><option value="platform">Telephony platform (offers calls only)</option></select></div>
      <fieldset><legend>Projects</legend><div id="u-projects">${projectBoxes([])}</div></fieldset>
      <p class="error" data-error-for="" role="alert"></p>
      <div class="actions"><button type="submit">Save user</button></div>
    </form>`;
  const form = document.getElementById("user");
  main().querySelectorAll("[data-edit]").forEach((b) => b.addEventListener("click", () => {
    const u = users.data.find((x) => x.id === b.dataset.edit);
    form.elements.id.value = u.id;
    form.elements.username.value = u.username;
    form.elements.role.value = u.role;
    document.getElementById("u-projects").innerHTML = projectBoxes(u.projects);
    document.getElementById("user-form-title").textContent = `Edit ${u.username}`;
    form.elements.username.focus();
  }));
  main().querySelectorAll("[data-delete]").forEach((b) => b.addEventListener("click", async () => {
    if (!confirm("Delete this user? They can no longer sign in; their recordings stay.")) return;
    const r = await api("DELETE", `/users/${encodeURIComponent(b.dataset.delete)}`);
    go("#/users", r.ok ? "User deleted." : r.data?.error?.message);
  }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = form.elements.id.value;
    const password = form.elements.password.value;
    const body = { username: form.elements.username.value, role: form.elements.role.value,
      projects: [...form.querySelectorAll("input[name=projects]:checked")].map((c) => c.value) };
    if (password) body.password = password;
    const r = id ? await api("PUT", `/users/${encodeURIComponent(id)}`, body) : await api("POST", "/users", body);
    if (!r.ok) {
      const e = r.data?.error ?? {};
      const field = (e.message?.match(/field `([^`]+)`/) ?? [])[1] ?? "";
      showErrors(form, { ...e, field: e.field ?? field });
      return;
    }
    go("#/users", id ? "User saved." : "User created.");
  });
}

// ---- Recordings ----------------------------------------------------------------------------

async function renderRecordings() {
  const seq = routeSeq;
  const users = (await api("GET", "/users")).data ?? [];
  if (stale(seq)) return;
  const nameOf = (id) => users.find((u) => u.id === id)?.username ?? id;
  main().innerHTML = `
    <h1>Recordings</h1>
    <form class="filters" id="rec-filters">
      <div class="field"><label for="f-project">Project</label><input type="text" id="f-project" name="project"></div>
      <div class="field"><label for="f-agent">Agent</label><select id="f-agent" name="agent"><option value="">All</option>${users.filter((u) => u.role === "agent").map((u) => `<option value="${esc(u.id)}">${esc(u.username)}</option>`).join("")}</select></div>
      <div class="field"><label for="f-contact">Contact</label><input type="text" id="f-contact" name="contact"></div>
      <div class="field"><label for="f-from">From</label><input type="date" id="f-from" name="from"></div>
      <div class="field"><label for="f-to">To</label><input type="date" id="f-to" name="to"></div>
      <button type="submit">Filter</button>
    </form>
    <div id="rec-list"></div><div id="player"></div>`;
  const form = document.getElementById("rec-filters");
  const load = async () => {
    const q = new URLSearchParams();
    for (const n of ["project", "agent", "contact"]) if (form.elements[n].value) q.set(n, form.elements[n].value);
    if (form.elements.from.value) q.set("from", `${form.elements.from.value}T00:00:00Z`);
    if (form.elements.to.value) q.set("to", `${form.elements.to.value}T23:59:59Z`);
    q.set("limit", "100");
    const r = await api("GET", `/recordings?${q}`);
    const rows = (r.data?.items ?? []).map((x) => `<tr><td>${esc(new Date(x.started_at).toLocaleString())}</td><td>${esc(x.project_id)}</td><td>${esc(nameOf(x.agent_id))}</td>
      <td>${esc(x.contact ?? "")}</td><td>${Math.round(x.duration_ms / 1000)} s</td><td>${x.receipts}</td>
      <td>${x.has_audio ? `<button type="button" class="link" data-play="${esc(x.id)}">Play</button>` : '<span class="muted">no audio</span>'}
        · <a class="link" href="#/holds/${esc(x.id)}">Hold<span class="sr-only"> the call of ${esc(new Date(x.started_at).toLocaleString())}${x.contact ? ` with ${esc(x.contact)}` : ""}</span></a>
        · <a class="link" href="#/erasures/${esc(x.id)}">Delete<span class="sr-only"> the call of ${esc(new Date(x.started_at).toLocaleString())}${x.contact ? ` with ${esc(x.contact)}` : ""}</span></a></td></tr>`).join("");
    document.getElementById("rec-list").innerHTML = r.ok
      ? `<table><thead><tr><th>Started</th><th>Project</th><th>Agent</th><th>Contact</th><th>Duration</th><th>Receipts</th><th></th></tr></thead><tbody>${rows || '<tr><td colspan="7" class="muted">No recordings.</td></tr>'}</tbody></table>`
      : `<p class="alert">${esc(r.data?.error?.message)}</p>`;
    document.querySelectorAll("[data-play]").forEach((b) => b.addEventListener("click", () => play(b.dataset.play)));
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load();
}

function play(id) {
  return playAudio(`/recordings/${encodeURIComponent(id)}/audio`, `<h2>Recording ${esc(id)}</h2>`, "This recording cannot be played.");
}

// Audio is fetched with the bearer token (an <audio> element cannot send it) and played from a
// blob; the store logs the access. `heading` is HTML.
async function playAudio(path, heading, refused) {
  const resp = await fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${session.token}` } });
  if (resp.status === 401) { signOut("Your session has ended; sign in again."); return; }
  const player = document.getElementById("player");
  if (!player) return; // the user moved on
  const previous = player.querySelector("audio")?.src;
  if (previous) URL.revokeObjectURL(previous);
  if (!resp.ok) { player.innerHTML = `<p class="alert" role="alert">${esc(refused)}</p>`; return; }
  const url = URL.createObjectURL(await resp.blob());
  player.innerHTML = `${heading}<audio controls autoplay src="${url}"></audio>`;
}

// ---- Compliance: voice receipts, legal holds, deletion on request, export -----------------

const when = (t) => (t ? new Date(t).toLocaleString() : "");
const day = (t) => new Date(t).toLocaleDateString();
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NO_REASON = "say why (a case or request reference), 1 to 2000 characters";

async function renderReceipts() {
  const seq = routeSeq;
  const projects = (await api("GET", "/projects")).data ?? [];
  if (stale(seq)) return;
  main().innerHTML = `
    <h1>Voice receipts</h1>
    <p>Each voice receipt is kept, found and played on its own, until the project's voice receipt holding time ends (which may be before or after its call's). Every playback is in the audit log.</p>
    <form class="filters" id="receipt-filters">
      <div class="field"><label for="r-order">Order id</label><input type="text" id="r-order" name="order_id" autocomplete="off"></div>
      <div class="field"><label for="r-contact">Contact</label><input type="text" id="r-contact" name="contact" autocomplete="off"></div>
      <div class="field"><label for="r-project">Project</label><select id="r-project" name="project"><option value="">All</option>${projects.filter((p) => p.kind === "contact_center").map((p) => `<option value="${esc(p.id)}">${esc(p.name)}</option>`).join("")}</select></div>
      <button type="submit">Search</button>
    </form>
    <p class="help">The order id and the contact are matched exactly, as the agent's app recorded them.</p>
    <div id="receipt-list"></div>
    <div class="actions"><button type="button" class="secondary" id="r-more" hidden>More</button></div>
    <div id="player"></div>`;
  const form = document.getElementById("receipt-filters");
  const more = document.getElementById("r-more");
  let shown = [];
  let cursor = null;
  const load = async (next) => {
    const q = new URLSearchParams();
    for (const n of ["order_id", "contact", "project"]) if (form.elements[n].value.trim()) q.set(n, form.elements[n].value.trim());
    q.set("limit", "100");
    if (next) q.set("cursor", cursor);
    const r = await api("GET", `/receipts?${q}`);
    if (stale(seq)) return;
    if (!r.ok) {
      document.getElementById("receipt-list").innerHTML = `<p class="alert" role="alert">${esc(r.data?.error?.message ?? "The voice receipts cannot be listed.")}</p>`;
      more.hidden = true;
      return;
    }
    shown = next ? [...shown, ...r.data.items] : r.data.items;
    cursor = r.data.next_cursor;
    more.hidden = !cursor;
    const rows = shown.map((x) => `<tr><td>${esc(x.order_id)}</td><td>${x.seq}</td><td>${esc(when(x.started_at))}</td><td>${esc(x.agent)}</td>
      <td>${esc(x.contact ?? "")}</td><td>${x.customer ? "Yes" : "No"}</td><td>${esc(day(x.expires_at))}</td>
      <td>${x.playable ? `<button type="button" class="link" data-receipt="${esc(x.id)}" aria-label="Play voice receipt ${esc(x.order_id)} take ${x.seq}">Play</button>` : ""}</td></tr>`).join("");
    document.getElementById("receipt-list").innerHTML = `<table><thead><tr><th>Order id</th><th>Take</th><th>Call started</th><th>Agent</th><th>Contact</th><th>Customer voice recorded</th><th>Expires</th><th></th></tr></thead>
      <tbody>${rows || '<tr><td colspan="8" class="muted">No voice receipts.</td></tr>'}</tbody></table>`;
    document.querySelectorAll("[data-receipt]").forEach((b) => b.addEventListener("click", () => {
      const x = shown.find((i) => i.id === b.dataset.receipt);
      playAudio(`/receipts/${encodeURIComponent(x.id)}/audio`,
        `<h2>Voice receipt for order ${esc(x.order_id)}, take ${x.seq}</h2>
         <p class="muted">Recorded by ${esc(x.agent)} in the call of ${esc(when(x.started_at))}${x.contact ? ` with ${esc(x.contact)}` : ""}, ${((x.to_ms - x.from_ms) / 1000).toFixed(1)} s from ${(x.from_ms / 1000).toFixed(1)} s into the call; customer voice ${x.customer ? "recorded" : "not recorded"}; kept until ${esc(day(x.expires_at))}.</p>`,
        "This voice receipt cannot be played: it may have expired or been deleted.");
    }));
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(false); });
  more.addEventListener("click", () => load(true));
  await load(false);
}

// What a hold or a deletion is about: every recording of a contact, or one recording.
function subjectFields(prefix, recording) {
  const one = Boolean(recording);
  return `<fieldset><legend>What</legend>
      <div class="check"><label><input type="radio" name="on" value="contact"${one ? "" : " checked"}> Every recording of a contact</label></div>
      <div class="check"><label><input type="radio" name="on" value="recording"${one ? " checked" : ""}> One recording (the call and its voice receipts)</label></div>
      <div class="field" data-on="contact"${one ? " hidden" : ""}><label for="${prefix}-contact">Contact</label>
        <input type="text" id="${prefix}-contact" name="contact" autocomplete="off">
        <p class="help">As the recordings name it: a phone number or a customer id, matched exactly.</p>
        <p class="error" data-error-for="contact" role="alert"></p></div>
      <div class="field" data-on="recording"${one ? "" : " hidden"}><label for="${prefix}-recording">Recording id</label>
        <input type="text" id="${prefix}-recording" name="recording" value="${esc(recording ?? "")}" autocomplete="off" spellcheck="false">
        <p class="help">The Recordings page links here with the id filled in.</p>
        <p class="error" data-error-for="recording" role="alert"></p></div>
    </fieldset>`;
}

function reasonField(id, labelText, help) {
  return `<div class="field"><label for="${id}">${esc(labelText)}</label>
      <textarea id="${id}" name="reason" rows="2" maxlength="2000"></textarea>
      <p class="help">${esc(help)}</p>
      <p class="error" data-error-for="reason" role="alert"></p></div>`;
}

// An error beside a field goes when the field is edited.
function clearOnInput(form) {
  form.addEventListener("input", (ev) => {
    const slot = ev.target.name && form.querySelector(`[data-error-for="${CSS.escape(ev.target.name)}"]`);
    if (slot) slot.textContent = "";
    ev.target.removeAttribute("aria-invalid");
  });
}

// Shows the input the chosen subject needs.
function wireSubject(form) {
  clearOnInput(form);
  const sync = () => form.querySelectorAll("[data-on]").forEach((d) => { d.hidden = d.dataset.on !== form.elements.on.value; });
  form.querySelectorAll("input[name=on]").forEach((r) => r.addEventListener("change", sync));
}

// The subject and reason of `form`, or the first thing missing (as the store would say it).
function subjectOf(form) {
  const on = form.elements.on.value;
  const value = form.elements[on].value.trim();
  const reason = form.elements.reason.value.trim();
  if (!value) return { error: { field: on, message: on === "contact" ? "name the contact" : "give the recording's id" } };
  if (on === "recording" && !UUID.test(value)) return { error: { field: on, message: "a recording id has 36 characters, like 0190a5c2-7b1e-7c3d-9f00-0123456789ab" } };
  if (!reason) return { error: { field: "reason", message: NO_REASON } };
  const what = on === "contact" ? `contact ${value}` : `recording ${value}`;
  return { on, value, reason, what, body: { [on]: value, reason } };
}

// The store's refusal, beside its field where it names one (a 404 on a recording: no such id;
// on a hold: lifted meanwhile).
function refusal(r, on) {
  if (r.status === 404 && on === "recording") return { field: "recording", message: "no recording in the store has this id (it may have expired or been deleted)" };
  if (r.status === 404 && on === "hold") return { field: "", message: "This hold is no longer in force: someone lifted it meanwhile. Reload the page to see it." };
  const e = r.data?.error ?? {};
  return { field: e.field ?? "", message: e.message ?? `The store refused the request (HTTP ${r.status}).` };
}

// An in-page confirmation: says in words what will happen and goes on only on an explicit
// yes. "Go back" or Escape returns to the form untouched. Resolves to the answer.
function confirmStep(slot, form, title, lines, yes, danger) {
  form.inert = true;
  slot.innerHTML = `<section class="card confirm${danger ? " danger" : ""}" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text" tabindex="-1">
      <h2 id="confirm-title">${esc(title)}</h2>
      <div id="confirm-text">${lines.map((l) => `<p>${esc(l)}</p>`).join("")}</div>
      <div class="actions"><button type="button" data-answer="yes"${danger ? ' class="danger"' : ""}>${esc(yes)}</button><button type="button" class="secondary" data-answer="no">Go back</button></div>
    </section>`;
  const box = slot.firstElementChild;
  box.focus();
  return new Promise((resolve) => {
    const answer = (yesNo) => {
      slot.innerHTML = "";
      form.inert = false;
      if (!yesNo) form.querySelector("[type=submit]").focus();
      resolve(yesNo);
    };
    box.querySelector("[data-answer=yes]").addEventListener("click", () => answer(true));
    box.querySelector("[data-answer=no]").addEventListener("click", () => answer(false));
    box.addEventListener("keydown", (ev) => { if (ev.key === "Escape") answer(false); });
  });
}

// Runs `request` with `button` disabled and saying `text` (no second click sends it twice).
async function busy(button, text, request) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try { return await request(); } finally { button.disabled = false; button.textContent = label; }
}

async function renderHolds(notice, recording) {
  const seq = routeSeq;
  const users = (await api("GET", "/users")).data ?? [];
  if (stale(seq)) return;
  const nameOf = (id) => users.find((u) => u.id === id)?.username ?? id ?? "";
  main().innerHTML = `
    <h1>Legal holds</h1>
    ${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ""}
    <p>A legal hold keeps what it covers past its expiry and past deletion requests until it is lifted: for a dispute, an investigation or a regulator's request. A hold on a contact also covers the contact's future calls.</p>
    <div class="check"><label><input type="checkbox" id="h-all"> Show lifted holds too</label></div>
    <div id="hold-list"></div>
    <div id="lift-slot"></div>
    <h2>Place a legal hold</h2>
    <form class="card" id="hold" novalidate>
      ${subjectFields("h", recording)}
      ${reasonField("h-reason", "Reason", "A case, dispute or request reference. Kept in the audit log with your name.")}
      <p class="error" data-error-for="" role="alert"></p>
      <div class="actions"><button type="submit">Place hold…</button></div>
    </form>
    <div id="hold-confirm"></div>`;
  const form = document.getElementById("hold");
  const all = document.getElementById("h-all");
  wireSubject(form);
  const on = (h) => (h.contact !== undefined ? `contact ${h.contact}` : `recording ${h.recording}`);
  let holds = [];
  const list = async () => {
    const r = await api("GET", `/holds${all.checked ? "?all=true" : ""}`);
    if (stale(seq)) return;
    holds = r.data ?? [];
    const rows = holds.map((h) => `<tr><td>${esc(on(h).replace(/^./, (c) => c.toUpperCase()))}</td><td>${esc(h.reason)}</td><td>${esc(nameOf(h.placed_by))}<br><span class="muted">${esc(when(h.placed_at))}</span></td>
      <td>${h.lifted_at ? `Lifted ${esc(when(h.lifted_at))} by ${esc(nameOf(h.lifted_by))}${h.lift_reason ? `: ${esc(h.lift_reason)}` : ""}` : "<strong>In force</strong>"}</td>
      <td>${h.lifted_at ? "" : `<button type="button" class="link" data-lift="${esc(h.id)}" aria-label="Lift the legal hold on ${esc(on(h))}">Lift…</button>`}</td></tr>`).join("");
    document.getElementById("hold-list").innerHTML = r.ok
      ? `<table><thead><tr><th>On</th><th>Reason</th><th>Placed</th><th>Status</th><th></th></tr></thead><tbody>${rows || `<tr><td colspan="5" class="muted">No legal hold ${all.checked ? "yet" : "in force"}.</td></tr>`}</tbody></table>`
      : `<p class="alert" role="alert">${esc(r.data?.error?.message ?? "The legal holds cannot be listed.")}</p>`;
    document.querySelectorAll("[data-lift]").forEach((b) => b.addEventListener("click", () => lift(holds.find((h) => h.id === b.dataset.lift))));
  };
  // Lifting asks for its reason in a panel that says what lifting does.
  const lift = (hold) => {
    const slot = document.getElementById("lift-slot");
    slot.innerHTML = `<form class="card confirm" id="lift" novalidate role="alertdialog" aria-labelledby="lift-title" aria-describedby="lift-text" tabindex="-1">
        <h2 id="lift-title">Lift the legal hold on ${esc(on(hold))}</h2>
        <div id="lift-text"><p>Placed by ${esc(nameOf(hold.placed_by))} on ${esc(when(hold.placed_at))}: ${esc(hold.reason)}.</p>
        <p>Lifting: recordings past their expiry will be deleted at the next sweep (within a minute), unless another legal hold covers them; the others are deleted at their own expiry. Deletion requests reach them again.</p></div>
        ${reasonField("lift-reason", "Reason for lifting", "Why the hold ends (the dispute is settled, the case is closed). Kept in the audit log with your name.")}
        <p class="error" data-error-for="" role="alert"></p>
        <div class="actions"><button type="submit" class="danger">Lift the hold</button><button type="button" class="secondary" id="lift-cancel">Go back</button></div>
      </form>`;
    const panel = document.getElementById("lift");
    clearOnInput(panel);
    const close = () => { slot.innerHTML = ""; document.querySelector(`[data-lift="${CSS.escape(hold.id)}"]`)?.focus(); };
    document.getElementById("lift-cancel").addEventListener("click", close);
    panel.addEventListener("keydown", (ev) => { if (ev.key === "Escape") close(); });
    panel.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = panel.elements.reason.value.trim();
      if (!reason) { showErrors(panel, { field: "reason", message: NO_REASON }); return; }
      const r = await busy(panel.querySelector("[type=submit]"), "Lifting…", () => api("POST", `/holds/${encodeURIComponent(hold.id)}/lift`, { reason }));
      if (stale(seq)) return;
      if (!r.ok) { showErrors(panel, refusal(r, "hold")); return; }
      go("#/holds", `Legal hold on ${on(hold)} lifted. What it kept past its expiry is deleted at the next sweep (within a minute).`);
    });
    document.getElementById("lift-reason").focus();
  };
  all.addEventListener("change", list);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const s = subjectOf(form);
    if (s.error) { showErrors(form, s.error); return; }
    clearErrors(form);
    const lines = s.on === "contact"
      ? [`Every recording of contact ${s.value}, and any future one, will be kept past its expiry and past deletion requests until the hold is lifted.`]
      : [`Recording ${s.value} and its voice receipts will be kept past their expiry and past deletion requests until the hold is lifted.`];
    lines.push(`Reason, kept in the audit log: ${s.reason}`);
    if (!await confirmStep(document.getElementById("hold-confirm"), form, `Place a legal hold on ${s.what}?`, lines, "Place the hold", false)) return;
    const r = await busy(form.querySelector("[type=submit]"), "Placing…", () => api("POST", "/holds", s.body));
    if (stale(seq)) return;
    if (!r.ok) { showErrors(form, refusal(r, s.on)); return; }
    go("#/holds", `Legal hold placed on ${s.what}.`);
  });
  await list();
}

function renderErasures(recording) {
  const seq = routeSeq;
  main().innerHTML = `
    <h1>Delete on request</h1>
    <p>When a data subject asks for their recordings to be deleted, or a recording must go before its expiry. Deletion is immediate and cannot be undone; the request and its reason are kept in the audit log.</p>
    <form class="card" id="erase" novalidate>
      ${subjectFields("e", recording)}
      ${reasonField("e-reason", "Reason", "The request's reference (a data subject's request, a ticket). Kept in the audit log with your name.")}
      <p class="error" data-error-for="" role="alert"></p>
      <div class="actions"><button type="submit" class="danger">Delete…</button></div>
    </form>
    <div id="erase-confirm"></div>
    <div id="erase-result" class="result" tabindex="-1"></div>`;
  const form = document.getElementById("erase");
  wireSubject(form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const s = subjectOf(form);
    if (s.error) { showErrors(form, s.error); return; }
    clearErrors(form);
    const result = document.getElementById("erase-result");
    result.innerHTML = "";
    const lines = [
      s.on === "contact"
        ? `Every recording and voice receipt of contact ${s.value} will be deleted from the store now (audio, voice receipts, unfinished uploads).`
        : `Recording ${s.value} and its voice receipts will be deleted from the store now.`,
      "This cannot be undone.",
      "Recordings under a legal hold are kept; the answer lists them.",
      "Agents' machines delete their copies at their next contact with the store.",
    ];
    if (!await confirmStep(document.getElementById("erase-confirm"), form, `Delete ${s.what}?`, lines, "Delete permanently", true)) return;
    const r = await busy(form.querySelector("[type=submit]"), "Deleting…", () => api("POST", "/erasures", s.body));
    if (stale(seq)) return;
    if (!r.ok) { showErrors(form, refusal(r, s.on)); return; }
    const { call_ids: erased, held } = r.data;
    const ids = (list) => list.map((id) => `<code>${esc(id)}</code>`).join(", ");
    const summary = erased.length + held.length === 0
      ? `The store held no recording of ${s.what}.`
      : `${plural(erased.length, "call", "calls")} deleted, ${plural(held.length, "call", "calls")} kept under a legal hold.`;
    result.innerHTML = `<section class="card" role="status"><h2>Deleted on request: ${esc(s.what)}</h2>
      <p><strong>${esc(summary)}</strong></p>
      ${erased.length ? `<p>Deleted: ${ids(erased)}.</p>` : ""}
      ${held.length ? `<p>Kept under a legal hold: ${ids(held)}. They stay until the hold is lifted; then ask again.</p>` : ""}
      <p>Agents' machines delete their copies at their next contact with the store. The audit log keeps this request and its reason.</p></section>`;
    for (const n of ["contact", "recording", "reason"]) form.elements[n].value = "";
    result.focus();
  });
}

// What a ZIP holds, from its central directory: the calls (top folders) and the receipt takes;
// null where it cannot tell (a ZIP64 archive).
async function zipContents(blob) {
  const end = new DataView(await blob.slice(-22).arrayBuffer());
  if (end.byteLength < 22 || end.getUint32(0, true) !== 0x06054b50) return null;
  const [size, offset] = [end.getUint32(12, true), end.getUint32(16, true)];
  if (offset === 0xffffffff) return null;
  const dir = new DataView(await blob.slice(offset, offset + size).arrayBuffer());
  const names = [];
  for (let at = 0; at + 46 <= dir.byteLength && dir.getUint32(at, true) === 0x02014b50;) {
    const [n, extra, comment] = [dir.getUint16(at + 28, true), dir.getUint16(at + 30, true), dir.getUint16(at + 32, true)];
    names.push(new TextDecoder().decode(new Uint8Array(dir.buffer, at + 46, n)));
    at += 46 + n + extra + comment;
  }
  return { calls: new Set(names.map((n) => n.split("/")[0])).size, receipts: names.filter((n) => /\/receipts\/[^/]+\.wav$/.test(n)).length };
}

function renderExport() {
  const seq = routeSeq;
  main().innerHTML = `
    <h1>Export</h1>
    <p>Every recording and voice receipt of a contact with its metadata, as one ZIP file: for a data subject's access request or a regulator. Each export is logged in the audit log (who, when, which calls).</p>
    <form class="card" id="export" novalidate>
      <div class="field"><label for="x-contact">Contact</label>
        <input type="text" id="x-contact" name="contact" autocomplete="off">
        <p class="help">As the recordings name it: a phone number or a customer id, matched exactly.</p>
        <p class="error" data-error-for="contact" role="alert"></p></div>
      <p class="error" data-error-for="" role="alert"></p>
      <div class="actions"><button type="submit">Export</button></div>
    </form>
    <div id="export-result" class="result"></div>`;
  const form = document.getElementById("export");
  clearOnInput(form);
  const result = document.getElementById("export-result");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const contact = form.elements.contact.value.trim();
    result.innerHTML = "";
    if (!contact) { showErrors(form, { field: "contact", message: "name the contact" }); return; }
    clearErrors(form);
    const resp = await busy(form.querySelector("[type=submit]"), "Exporting…", () =>
      fetch(`/api/v1/contacts/${encodeURIComponent(contact)}/export`, { headers: { authorization: `Bearer ${session.token}` } })
        .catch(() => null));
    if (!resp) { showErrors(form, { field: "", message: "The store cannot be reached; nothing was exported. Try again." }); return; }
    if (resp.status === 401) { signOut("Your session has ended; sign in again."); return; }
    if (stale(seq)) return;
    if (!resp.ok) {
      const error = await resp.json().catch(() => null);
      showErrors(form, { field: "", message: error?.error?.message ?? `The store refused the export (HTTP ${resp.status}).` });
      return;
    }
    const blob = await resp.blob();
    const name = `callrec-export-${contact.replace(/[^A-Za-z0-9._+-]/g, "_")}.zip`;
    const found = await zipContents(blob);
    const what = found === null ? `${Math.ceil(blob.size / 1024)} KB`
      : found.calls === 0 ? "the store holds no recording or voice receipt of this contact: the ZIP is empty"
      : `${plural(found.calls, "call", "calls")}, ${plural(found.receipts, "voice receipt", "voice receipts")}, ${Math.ceil(blob.size / 1024)} KB`;
    const url = URL.createObjectURL(blob);
    result.innerHTML = `<p class="notice" role="status">Exported contact ${esc(contact)}: ${esc(what)}. This export is in the audit log.</p>
      <p><a id="export-file" href="${url}" download="${esc(name)}">Save ${esc(name)}</a></p>`;
    document.getElementById("export-file").click();
  });
}

// ---- Audit log -----------------------------------------------------------------------------

// What the store writes in its log, in the words the filter offers.
const AUDIT_KINDS = ["login", "login_failed", "logout", "playback", "recording_stored", "retention_deleted",
  "upload_abandoned", "call_offered", "call_fact", "settings_changed", "holding_time_shortened", "project_created",
  "project_changed", "project_deleted", "user_created", "user_changed", "user_deleted", "hold_placed", "hold_lifted",
  "erased_on_request", "exported"];
const AUDIT_PAGE = 100;

// Newest first, a page at a time, filtered by the store (so the newest event is always the first
// row, however long the log).
async function renderAudit() {
  const seq = routeSeq;
  const users = (await api("GET", "/users")).data ?? [];
  if (stale(seq)) return;
  const names = new Map(users.map((u) => [u.id, u.username]));
  main().innerHTML = `
    <h1>Audit log</h1>
    <form class="filters" id="audit-filters">
      <div class="field"><label for="a-action">Kind</label><select id="a-action" name="action"><option value="">All</option>${AUDIT_KINDS.map((a) => `<option>${esc(a)}</option>`).join("")}</select></div>
      <div class="field"><label for="a-user">User</label><select id="a-user" name="user"><option value="">Anyone</option>${users.map((u) => `<option value="${esc(u.id)}">${esc(u.username)}</option>`).join("")}</select></div>
      <div class="field"><label for="a-from">From</label><input type="date" id="a-from" name="from"></div>
      <div class="field"><label for="a-to">To</label><input type="date" id="a-to" name="to"></div>
    </form>
    <div id="audit-list"></div>
    <p class="pager"><button type="button" id="a-newer">Newer</button> <button type="button" id="a-older">Older</button></p>`;
  const form = document.getElementById("audit-filters");
  // The `before` cursor of each page shown so far: the first page has none.
  let pages = [null];
  const show = async () => {
    const f = (n) => form.elements[n].value;
    const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
    if (f("action")) q.set("action", f("action"));
    if (f("user")) q.set("actor", f("user"));
    if (f("from")) q.set("from", `${f("from")}T00:00:00Z`);
    if (f("to")) q.set("to", new Date(Date.parse(`${f("to")}T00:00:00Z`) + 86400000).toISOString());
    const before = pages[pages.length - 1];
    if (before !== null) q.set("before", String(before));
    const r = await api("GET", `/audit?${q}`);
    if (stale(seq)) return;
    const entries = r.data ?? [];
    const rows = entries.map((e) => `<tr><td>${esc(new Date(e.at).toLocaleString())}</td><td>${esc(e.action)}</td><td>${esc(e.actor ? (names.get(e.actor) ?? e.actor) : "store")}</td><td>${esc(e.target ?? "")}</td><td><code>${esc(JSON.stringify(e.detail))}</code></td></tr>`).join("");
    document.getElementById("audit-list").innerHTML = r.ok
      ? `<table><thead><tr><th>When</th><th>Kind</th><th>User</th><th>On</th><th>Details</th></tr></thead><tbody>${rows || '<tr><td colspan="5" class="muted">Nothing matches.</td></tr>'}</tbody></table>`
      : `<p class="alert">${esc(r.data?.error?.message ?? "The audit log cannot be read.")}</p>`;
    document.getElementById("a-newer").disabled = pages.length === 1;
    const older = document.getElementById("a-older");
    older.disabled = entries.length < AUDIT_PAGE;
    older.onclick = () => { pages.push(entries[entries.length - 1].id); show(); };
  };
  document.getElementById("a-newer").onclick = () => { if (pages.length > 1) { pages.pop(); show(); } };
  form.addEventListener("input", () => { pages = [null]; show(); });
  await show();
}

// ---- Routing -------------------------------------------------------------------------------

async function route() {
  routeSeq += 1;
  if (!session) { renderSignIn(); return; }
  document.getElementById("nav").hidden = false;
  const hash = location.hash || "#/projects";
  const [, page, id] = hash.split("/");
  document.querySelectorAll("nav a").forEach((a) => a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${page}`));
  if (document.querySelector("nav a[aria-current]")) document.querySelector("nav a[aria-current]").setAttribute("aria-current", "page");
  // Nothing of the previous page stays usable while the next one loads.
  main().innerHTML = '<p class="muted" role="status">Loading…</p>';
  try {
    const notice = takeFlash();
    if (page === "projects" && id === "new") renderChooseKind();
    else if (page === "projects" && id) await renderProject(decodeURIComponent(id));
    else if (page === "settings") await renderSettings(notice);
    else if (page === "users") await renderUsers(notice);
    else if (page === "recordings") await renderRecordings();
    else if (page === "receipts") await renderReceipts();
    else if (page === "holds") await renderHolds(notice, id ? decodeURIComponent(id) : null);
    else if (page === "erasures") await renderErasures(id ? decodeURIComponent(id) : null);
    else if (page === "export") await renderExport();
    else if (page === "audit") await renderAudit();
    else await renderProjects(notice);
  } catch (e) {
    if (e.message !== "unauthorized") main().innerHTML = `<p class="alert">${esc(e.message)}</p>`;
  }
  main().focus();
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", async () => {
    // The store ends the session too: the token is worthless from now on.
    if (session) await fetch("/api/v1/logout", { method: "POST", headers: { authorization: `Bearer ${session.token}` } }).catch(() => {});
    signOut("Signed out.");
  });
  route();
});
