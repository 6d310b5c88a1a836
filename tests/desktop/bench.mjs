// Figures of the agent window (release build; `scripts/bench desktop`, not run by CI):
// launch to an interactive window, idle CPU and memory, CPU and memory during a call, binary
// size. Memory is the app's process plus WebKit's web and network processes.
//
// Needs CALLREC_BIN and CALLREC_DESKTOP (release builds), CALLREC_PULSE_DIR/PULSE_SERVER,
// tauri-driver on PATH, Xvfb.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { CALLREC_BIN: BIN, CALLREC_DESKTOP: DESKTOP, CALLREC_PULSE_DIR: PULSE } = process.env;
const dir = mkdtempSync(join(tmpdir(), "callrec-bench-"));
const free = () => new Promise((r) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => r(port)); }); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const port = await free();
const base = `http://127.0.0.1:${port}`;
const server = spawn(BIN, ["server", "--data", join(dir, "store"), "--listen", `127.0.0.1:${port}`], { env: { ...process.env, CALLREC_ADMIN_PASSWORD: "admin-password" }, stdio: "ignore" });
for (let i = 0; i < 200; i++) { try { await fetch(`${base}/api/v1/openapi.json`); break; } catch { await sleep(50); } }
const call = async (method, path, token, body) => (await fetch(`${base}/api/v1${path}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined })).json();
const admin = (await call("POST", "/login", null, { username: "admin", password: "admin-password" })).token;
await call("POST", "/projects", admin, { id: "sales", name: "Sales", kind: "contact_center", record_mode: "both" });
await call("POST", "/users", admin, { username: "alice", password: "password-123", role: "agent", projects: ["sales"] });
const data = join(dir, "agent");
execFileSync(BIN, ["login", "--server", base, "--user", "alice"], { env: { ...process.env, CALLREC_DATA: data, CALLREC_PASSWORD: "password-123" } });
const tone = join(dir, "tone.wav");
execFileSync("sox", ["-n", "-r", "16000", "-c", "1", tone, "synth", "120", "sine", "440", "vol", "0.3"]);
const players = [spawn("paplay", ["-d", "mic", tone]), spawn("paplay", ["-d", "callaudio", tone])];

let n = 90;
while (existsSync(`/tmp/.X${n}-lock`)) n += 1;
const [wdPort, nativePort] = [await free(), await free()];
const WD = `http://127.0.0.1:${wdPort}`;
const env = { ...process.env, DISPLAY: `:${n}`, HOME: join(PULSE, "home"), CALLREC_DATA: data, CALLREC_MIC: "callrec test microphone", CALLREC_CALL_AUDIO: "callrec test call audio", WEBKIT_DISABLE_COMPOSITING_MODE: "1" };
const driver = spawn("sh", ["-c", `Xvfb :${n} -screen 0 1280x800x24 -nolisten tcp & exec tauri-driver --port ${wdPort} --native-port ${nativePort} --native-driver /usr/bin/WebKitWebDriver`], { env, stdio: "ignore", detached: true });
for (let i = 0; i < 100; i++) { try { await fetch(`${WD}/status`, { signal: AbortSignal.timeout(300) }); break; } catch { await sleep(100); } }
const wd = async (method, path, body) => (await (await fetch(`${WD}${path}`, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(30_000) })).json()).value;

const t0 = performance.now();
const session = (await wd("POST", "/session", { capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application: DESKTOP } } } })).sessionId;
const exec = (script) => wd("POST", `/session/${session}/execute/sync`, { script, args: [] });
while (!(await exec(`return !!document.getElementById("dial")`))) await sleep(20);
const launch = performance.now() - t0;

// The app's process and WebKit's helper processes.
function processes() {
  const pids = [];
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (cmd.includes(DESKTOP) || /WebKit(Web|Network)Process/.test(cmd)) pids.push(Number(p));
    } catch {}
  }
  return pids;
}
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };
const rss = (pid) => Number((readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/) ?? [0, 0])[1]) / 1024;
async function sample(seconds) {
  const pids = processes();
  const before = pids.map((p) => { try { return ticks(p); } catch { return 0; } });
  await sleep(seconds * 1000);
  const cpu = pids.reduce((sum, p, i) => { try { return sum + ticks(p) - before[i]; } catch { return sum; } }, 0) / 100 / seconds * 100;
  const mem = pids.reduce((sum, p) => { try { return sum + rss(p); } catch { return sum; } }, 0);
  return { cpu, mem, count: pids.length };
}
await sleep(2000);
const idle = await sample(10);
await exec(`document.getElementById("number").value = "+358400000000"; document.getElementById("project").value = "sales"; document.getElementById("dial").requestSubmit(); return true;`);
while (!(await exec(`return !!document.getElementById("hang-up")`))) await sleep(20);
await sleep(2000);
const during = await sample(20);
await exec(`document.getElementById("hang-up").click(); return true;`);

console.log("agent window, release build, under Xvfb (the app and WebKit's processes together):");
console.log(`  launch to an interactive window: ${launch.toFixed(0)} ms (WebDriver session included)`);
console.log(`  idle:        ${idle.cpu.toFixed(1)}% of one core, RSS ${idle.mem.toFixed(0)} MiB (${idle.count} processes)`);
console.log(`  during call: ${during.cpu.toFixed(1)}% of one core, RSS ${during.mem.toFixed(0)} MiB`);
console.log(`  binary: ${(statSync(DESKTOP).size / 1048576).toFixed(1)} MiB`);

await wd("DELETE", `/session/${session}`).catch(() => {});
try { process.kill(-driver.pid, "SIGTERM"); } catch {}
players.forEach((p) => p.kill());
server.kill("SIGTERM");
rmSync(dir, { recursive: true, force: true });
process.exit(0);
