// Sign-in: the store's address, the user, the password.

import { act, app, invoke, noticeHtml, refresh, ui } from "../app";
import { esc } from "../text";

export function renderSignIn() {
  const server = ui.snapshot?.server ?? localStorage.getItem("server") ?? "http://127.0.0.1:8640";
  app().innerHTML = `
    <h1>Sign in</h1>
    ${noticeHtml("signin")}
    <form class="card" id="signin">
      <div class="field"><label for="server">Server</label><input id="server" value="${esc(server)}" required></div>
      <div class="field"><label for="username">User name</label><input id="username" autocomplete="username" required></div>
      <div class="field"><label for="password">Password</label><input id="password" type="password" autocomplete="current-password" required></div>
      <button type="submit">Sign in</button>
    </form>
    ${ui.snapshot && ui.snapshot.uploads.some((u) => u.state === "queued" || u.state === "uploading" || u.state === "failed")
      ? `<p class="muted">${ui.snapshot.uploads.length} recording(s) wait on this computer; they upload after you sign in.</p>` : ""}`;
  document.getElementById("signin")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value;
    localStorage.setItem("server", value("server"));
    const user = await act("signin", () => invoke<string>("sign_in", { server: value("server"), username: value("username"), password: value("password") }));
    if (user !== undefined) ui.tab = "phone";
    await refresh();
  });
}

// ---- The call -----------------------------------------------------------------------------
