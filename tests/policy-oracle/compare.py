#!/usr/bin/env python3
"""Differential tester: the reference model (model.py) against `callrec simulate`.

  python3 compare.py --bin /path/to/callrec --n 5000 --seed 1
  python3 compare.py --self-test
  python3 compare.py --bin /path/to/callrec --replay DIR   # DIR has settings.json, events.jsonl

For each generated case: writes settings.json / events.jsonl to a temp dir, runs
`BIN simulate --settings S --events E`, and compares
  * the exit code with the model's (0 or 2);
  * exit 0: stdout parsed as JSON must equal the model's output exactly (types included:
    true is not 1, 1 is not 1.0; list order matters, key order does not);
  * exit 2: stdout must be empty and stderr exactly one non-empty line.
Soft checks (reported, not counted as failures, off with --no-message-checks): an error
message should name the file, the 1-based line (events) and the field, and list the valid
values where there is a list (POLICY.md §9).

Stops after --max-fail plain mismatches; each is shrunk (lines removed, optional settings
dropped while the same kind of mismatch persists) and printed as a reproduction, and saved
under --save-dir. Cases that touch a documented ambiguity (AMBIGUITIES.md; generated only with
--ambiguous) are reported separately and do not stop the run.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen  # noqa: E402
import model  # noqa: E402

# --------------------------------------------------------------------------- running


@dataclass
class Run:
    code: int | None  # None: timeout
    stdout: str
    stderr: str


def run_bin(binary: str, settings_text: str, events_text: str, workdir: str, timeout: float) -> Run:
    sp = os.path.join(workdir, "settings.json")
    ep = os.path.join(workdir, "events.jsonl")
    with open(sp, "w", encoding="utf-8", newline="") as f:
        f.write(settings_text)
    with open(ep, "w", encoding="utf-8", newline="") as f:
        f.write(events_text)
    try:
        p = subprocess.run(
            [binary, "simulate", "--settings", sp, "--events", ep],
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        return Run(None, (e.stdout or b"").decode("utf-8", "replace"), (e.stderr or b"").decode("utf-8", "replace"))
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


# --------------------------------------------------------------------------- comparing


def first_diff(a, b, path="$"):
    """Strict structural comparison; returns a description of the first difference."""
    if type(a) is not type(b):
        return f"{path}: expected {json.dumps(a)} ({type(a).__name__}), got {json.dumps(b)} ({type(b).__name__})"
    if isinstance(a, dict):
        ka, kb = set(a), set(b)
        if ka != kb:
            return f"{path}: keys differ: missing {sorted(ka - kb)}, unexpected {sorted(kb - ka)}"
        for k in a:  # model's key order
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            extra = a[len(b):] if len(a) > len(b) else b[len(a):]
            which = "missing" if len(a) > len(b) else "unexpected"
            return f"{path}: length {len(a)} expected, got {len(b)}; {which}: {json.dumps(extra)}"
        return None
    if a != b:
        return f"{path}: expected {json.dumps(a, ensure_ascii=False)}, got {json.dumps(b, ensure_ascii=False)}"
    return None


def one_line(stderr: str) -> bool:
    lines = stderr.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return len(lines) == 1 and lines[0].strip() != ""


def compare(exp: model.Result, got: Run):
    """Returns (category or None, detail)."""
    if got.code is None:
        return "timeout", "the binary did not finish"
    if got.code != exp.exit_code:
        if got.code not in (0, 2):
            return "exit", f"exit {got.code} (crash?), expected {exp.exit_code}"
        return "exit", f"exit {got.code}, expected {exp.exit_code}" + (
            f" (model error: {exp.error})" if exp.error else ""
        )
    if exp.exit_code == 0:
        try:
            out = json.loads(got.stdout)
        except ValueError as e:
            return "stdout-not-json", f"stdout is not one JSON document: {e}"
        d = first_diff(exp.output, out)
        if d:
            return "output", d
        return None, ""
    # exit 2
    if got.stdout != "":
        return "error-format", f"stdout not empty on exit 2: {got.stdout[:200]!r}"
    if not one_line(got.stderr):
        return "error-format", f"stderr is not exactly one non-empty line: {got.stderr[:400]!r}"
    return None, ""


def message_issues(case: gen.Case, exp: model.Result, got: Run):
    """Soft checks of the error message (§9). Only for exit 2 == exit 2."""
    if case.defect is None or got.code != 2 or exp.exit_code != 2:
        return []
    msg = got.stderr.strip()
    d = case.defect
    issues = []
    fname = "settings.json" if d.file == "settings" else "events.jsonl"
    if fname not in msg:
        issues.append(f"does not name the file {fname}")
    if d.file == "events" and d.line is not None and not re.search(rf"(?<!\d){d.line}(?!\d)", msg):
        issues.append(f"does not give line {d.line}")
    if d.field and d.field not in msg:
        issues.append(f"does not name the field {d.field}")
    if d.values:
        miss = [v for v in d.values if v not in msg]
        if miss:
            issues.append(f"does not list valid values {miss}")
    return issues


# --------------------------------------------------------------------------- shrinking


def _events_lines(text):
    if text == "":
        return [], False
    trailing = text.endswith("\n")
    lines = text.split("\n")
    if trailing:
        lines.pop()
    return lines, trailing


def _join(lines, trailing):
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if trailing else "")


def shrink(case: gen.Case, binary, workdir, timeout, category, budget=400):
    """Greedy reduction keeping the same mismatch: category = (kind, model exit, binary exit)."""
    runs = [0]

    def fails(st, et):
        if runs[0] >= budget:
            return False
        runs[0] += 1
        exp = model.simulate_detailed(st, et, "settings.json", "events.jsonl")
        got = run_bin(binary, st, et, workdir, timeout)
        cat, _ = compare(exp, got)
        return (cat, exp.exit_code, got.code) == category

    st, et = case.settings_text, case.events_text
    lines, trailing = _events_lines(et)
    # 1. events: remove chunks, then single lines
    chunk = max(1, len(lines) // 2)
    while chunk >= 1:
        i = 0
        progress = False
        while i < len(lines):
            cand = lines[:i] + lines[i + chunk:]
            if fails(st, _join(cand, trailing)):
                lines = cand
                progress = True
            else:
                i += chunk
        if not progress:
            chunk //= 2
    et = _join(lines, trailing)
    # 2. settings: drop optional parts
    try:
        sobj = json.loads(st)
    except ValueError:
        sobj = None
    if isinstance(sobj, dict):
        compact = json.dumps(sobj, ensure_ascii=False)
        if fails(compact, et):
            st = compact

        def try_drop(path):
            nonlocal sobj, st
            cand = json.loads(json.dumps(sobj))
            node = cand
            for k in path[:-1]:
                if not isinstance(node, dict) or k not in node:
                    return
                node = node[k]
            if not isinstance(node, dict) or path[-1] not in node:
                return
            del node[path[-1]]
            ct = json.dumps(cand, ensure_ascii=False)
            if fails(ct, et):
                sobj, st = cand, ct

        try_drop(["global"])
        for sub in ("contact_center", "customer_service", "holding_months"):
            try_drop(["global", sub])
        for k in ("record_mode", "conference_mode"):
            try_drop(["global", "contact_center", k])
            try_drop(["global", "customer_service", k])
        for k in ("id", "conference_mode", "start_paused", "agents_can_listen_to_others",
                  "multiple_receipts_per_order", "holding_months"):
            try_drop(["project", k])
    # 3. blank lines -> gone, trailing newline normalised
    return st, et, runs[0]


# --------------------------------------------------------------------------- reporting


def pretty(obj):
    """Top-level keys one a line, list items one a line: readable, and diffs by item."""
    if not isinstance(obj, dict):
        return json.dumps(obj, ensure_ascii=False)
    out = ["{"]
    keys = list(obj)
    for n, k in enumerate(keys):
        v = obj[k]
        comma = "," if n + 1 < len(keys) else ""
        if isinstance(v, list) and v:
            out.append(f" {json.dumps(k)}: [")
            for m, item in enumerate(v):
                out.append("   " + json.dumps(item, ensure_ascii=False) + ("," if m + 1 < len(v) else ""))
            out.append(" ]" + comma)
        else:
            out.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{comma}")
    out.append("}")
    return "\n".join(out)


def report(n, case, st, et, exp, got, category, detail, save_dir, binary, orig=None):
    bar = "=" * 78
    print(bar)
    print(f"MISMATCH #{n} [{category}] {detail}")
    if case.tags:
        print(f"  (touches ambiguity: {', '.join(sorted(case.tags | exp.tags))})")
    elif exp.tags:
        print(f"  (touches ambiguity: {', '.join(sorted(exp.tags))})")
    if case.defect:
        print(f"  generated defect (before shrinking): {case.defect}")
    print("--- settings.json")
    print(st)
    print("--- events.jsonl (0-based physical line: text)")
    ev_lines, trailing = _events_lines(et)
    if not ev_lines:
        print("(empty file)")
    for i, line in enumerate(ev_lines):
        print(f"{i:3d}: {line!r}" if line.strip(" \t\r") == "" else f"{i:3d}: {line}")
    if ev_lines and not trailing:
        print("(no newline at end of file)")
    print(f"--- model: exit {exp.exit_code}")
    if exp.exit_code == 0:
        print(pretty(exp.output))
    else:
        print(f"(model error) {exp.error}")
    print(f"--- binary: exit {got.code}")
    print("stdout:", got.stdout if got.stdout else "(empty)")
    print("stderr:", got.stderr if got.stderr else "(empty)")
    if exp.exit_code == 0 and got.code == 0:
        try:
            out = json.loads(got.stdout)
            print("--- diff (model -> binary)")
            a = pretty(exp.output).splitlines()
            b = pretty(out).splitlines()
            for line in difflib.unified_diff(a, b, "model", "binary", lineterm="", n=2):
                print(line)
        except ValueError:
            pass
    if save_dir:
        d = os.path.join(save_dir, f"mismatch-{n}")
        os.makedirs(d, exist_ok=True)
        for name, content in (("settings.json", st), ("events.jsonl", et)):
            with open(os.path.join(d, name), "w", encoding="utf-8", newline="") as f:
                f.write(content)
        with open(os.path.join(d, "model.txt"), "w", encoding="utf-8") as f:
            f.write(f"exit {exp.exit_code}\n")
            f.write(pretty(exp.output) + "\n" if exp.output is not None else f"{exp.error}\n")
        with open(os.path.join(d, "binary.txt"), "w", encoding="utf-8") as f:
            f.write(f"exit {got.code}\n--- stdout\n{got.stdout}\n--- stderr\n{got.stderr}\n")
        if orig:
            od = os.path.join(d, "unshrunk")
            os.makedirs(od, exist_ok=True)
            for name, content in (("settings.json", orig[0]), ("events.jsonl", orig[1])):
                with open(os.path.join(od, name), "w", encoding="utf-8", newline="") as f:
                    f.write(content)
        print(f"--- saved to {d}; rerun:")
        print(f"    {binary} simulate --settings {d}/settings.json --events {d}/events.jsonl")
        print(f"    python3 {os.path.join(HERE, 'compare.py')} --bin {binary} --replay {d}")


# --------------------------------------------------------------------------- main loop


def coverage_of(out, cov: Counter):
    if out is None:
        return
    for r in out["refused"]:
        cov["reason:" + r["reason"]] += 1
    cov["outcome:" + out["outcome"]] += 1
    rs = out["resolved"]
    cov[f"mode:{rs['kind']}/{rs['record_mode']}"] += 1
    if rs["conference_mode"]:
        cov[f"conf:{rs['conference_mode']}"] += 1
    for k in out["receipts"]:
        cov["receipt:" + k["status"]] += 1


def run_many(args):
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print(f"not executable: {binary}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="callrec-oracle-")
    save_dir = args.save_dir
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
    counts = Counter()
    cov = Counter()
    amb_reported = Counter()
    msg_examples = []
    n_fail = 0
    t0 = time.time()
    try:
        for i in range(args.n):
            if i and i % 1000 == 0:
                print(f"... {i} cases, {time.time() - t0:.0f}s", file=sys.stderr)
            case = gen.gen_case(rng, ambiguous=args.ambiguous, only=args.only)
            exp = model.simulate_detailed(case.settings_text, case.events_text, "settings.json", "events.jsonl")
            tags = case.tags | exp.tags
            counts["cases"] += 1
            counts["valid" if case.valid else "invalid"] += 1
            if (exp.exit_code == 0) != case.valid:
                counts["INTERNAL generator/model disagreement"] += 1
                print(f"INTERNAL: case {i}: generator meant valid={case.valid}, model exit "
                      f"{exp.exit_code} ({exp.error}); defect={case.defect}", file=sys.stderr)
                continue
            coverage_of(exp.output, cov)
            got = run_bin(binary, case.settings_text, case.events_text, workdir, args.timeout)
            cat, detail = compare(exp, got)
            if cat is None:
                counts["agree"] += 1
                if not args.no_message_checks:
                    iss = message_issues(case, exp, got)
                    if iss:
                        counts["message-issues"] += 1
                        for x in iss:
                            counts["message: " + re.sub(r" [\[\d].*", "", x)] += 1
                        if len(msg_examples) < args.max_msg_examples:
                            msg_examples.append((case.defect, got.stderr.strip(), iss))
                continue
            if tags:
                counts["ambiguous-mismatch"] += 1
                key = ",".join(sorted(tags))
                amb_reported[key] += 1
                if amb_reported[key] <= 2:
                    report(f"amb-{key}-{amb_reported[key]}", case, case.settings_text, case.events_text,
                           exp, got, cat, detail, None, binary)
                continue
            counts["MISMATCH " + cat] += 1
            n_fail += 1
            orig = (case.settings_text, case.events_text)
            st, et = case.settings_text, case.events_text
            if not args.no_shrink:
                st, et, used = shrink(case, binary, workdir, args.timeout, (cat, exp.exit_code, got.code))
            exp2 = model.simulate_detailed(st, et, "settings.json", "events.jsonl")
            got2 = run_bin(binary, st, et, workdir, args.timeout)
            cat2, detail2 = compare(exp2, got2)
            if cat2 is None:  # should not happen; fall back to the original
                st, et, exp2, got2, detail2 = orig[0], orig[1], exp, got, detail
            report(n_fail, case, st, et, exp2, got2, cat, detail2, save_dir, binary, orig)
            if n_fail >= args.max_fail:
                print(f"stopping after {n_fail} mismatches (case {i + 1} of {args.n})")
                break
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("=" * 78)
    print(f"seed {args.seed}: {counts['cases']} cases in {time.time() - t0:.1f}s")
    for k in sorted(counts):
        print(f"  {k}: {counts[k]}")
    if amb_reported:
        print("  ambiguous mismatches by tag set:")
        for k, v in amb_reported.most_common():
            print(f"    {k}: {v}")
    if msg_examples:
        print("message soft-check examples (not failures):")
        for d, msg, iss in msg_examples:
            print(f"  defect {d.desc} (file {d.file}, line {d.line}, field {d.field}): {msg!r}")
            print(f"    -> {'; '.join(iss)}")
    if args.coverage:
        missing = [r for r in model.REASONS if cov["reason:" + r] == 0]
        print("coverage:", dict(sorted(cov.items())))
        print("refusal reasons never produced:", missing or "none")
    return 1 if n_fail else 0


def replay(args):
    binary = os.path.abspath(args.bin)
    d = args.replay
    with open(os.path.join(d, "settings.json"), encoding="utf-8", newline="") as f:
        st = f.read()
    with open(os.path.join(d, "events.jsonl"), encoding="utf-8", newline="") as f:
        et = f.read()
    workdir = tempfile.mkdtemp(prefix="callrec-oracle-")
    try:
        exp = model.simulate_detailed(st, et, "settings.json", "events.jsonl")
        got = run_bin(binary, st, et, workdir, args.timeout)
        cat, detail = compare(exp, got)
        if cat is None:
            print("agree: exit", exp.exit_code)
            return 0
        report("replay", gen.Case(st, et, exp.exit_code == 0), st, et, exp, got, cat, detail, None, binary)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- self-test


def _policy_example():
    # The shared docs sit beside the repository's clone (../shared), or where
    # CALLREC_POLICY_MD says.
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.environ.get("CALLREC_POLICY_MD") or os.path.join(here, "..", "..", "..", "shared", "POLICY.md")
    text = open(path, encoding="utf-8").read()
    sec = text[text.index("## 9."):text.index("## 10.")]
    blocks = re.findall(r"```(\w*)\n(.*?)```", sec, re.S)
    assert len(blocks) >= 3, blocks
    settings = json.loads(blocks[0][1])
    events = blocks[1][1]
    output = json.loads(blocks[2][1])
    return settings, events, output


def _ev(lines):
    return "".join(json.dumps(e) + "\n" for e in lines)


def _cs(**p):
    return {"project": {"kind": "customer_service", **p}}


def _cc(**p):
    return {"project": {"kind": "contact_center", **p}}


def _tl(*rows):
    return [{"from_ms": a, "to_ms": b, "agent": x, "customer": y, "third_parties": z} for a, b, x, y, z in rows]


T, F = True, False
ST = {"t_ms": 0, "event": "call_started", "direction": "inbound", "consent": "granted"}
ST_DECL = {"t_ms": 0, "event": "call_started", "direction": "outbound", "consent": "declined"}


def e(t, name, **kw):
    return {"t_ms": t, "event": name, **kw}


def _hand_cases():
    """(name, settings, events_text, checks) with checks a dict of expected top-level
    fields, or {"exit": 2}. Expectations written from POLICY.md's text."""
    C = []
    C.append(("empty events file", _cc(record_mode="both"), "",
              {"timeline": [], "receipts": [], "refused": [], "outcome": "none"}))
    C.append(("blank-only events file", _cc(record_mode="both"), "\n\n",
              {"timeline": [], "outcome": "none"}))
    C.append(("conference none discards even if nothing recorded (paused)",
              _cs(record_mode="both", conference_mode="none", start_paused=True),
              _ev([ST, e(100, "party_joined", party="p2"), e(150, "resume"), e(200, "call_ended")]),
              {"timeline": _tl((0, 200, F, F, F)), "outcome": "discarded",
               "refused": [{"index": 2, "t_ms": 150, "event": "resume", "reason": "recording_discarded"}]}))
    C.append(("conference none discards what was recorded before",
              _cs(record_mode="both", conference_mode="none"),
              _ev([ST, e(100, "party_joined", party="p2"), e(110, "party_left", party="p2"),
                   e(120, "customer_off"), e(200, "call_ended")]),
              {"timeline": _tl((0, 200, F, F, F)), "outcome": "discarded",
               "refused": [{"index": 3, "t_ms": 120, "event": "customer_off", "reason": "recording_discarded"}]}))
    C.append(("record mode none: no stop/discard, outcome none",
              _cs(record_mode="none", conference_mode="none"),
              _ev([ST, e(5, "customer_on"), e(100, "party_joined", party="p2"), e(200, "call_ended")]),
              {"timeline": _tl((0, 200, F, F, F)), "outcome": "none",
               "refused": [{"index": 1, "t_ms": 5, "event": "customer_on", "reason": "recording_disabled"}]}))
    C.append(("stop_on_third_party",
              _cs(record_mode="both", conference_mode="stop_on_third_party"),
              _ev([ST, e(100, "party_joined", party="p2"), e(110, "party_left", party="p2"),
                   e(150, "resume"), e(160, "customer_on"), e(300, "call_ended")]),
              {"timeline": _tl((0, 100, T, T, F), (100, 300, F, F, F)), "outcome": "kept",
               "refused": [{"index": 3, "t_ms": 150, "event": "resume", "reason": "recording_stopped"},
                           {"index": 4, "t_ms": 160, "event": "customer_on", "reason": "recording_stopped"}]}))
    C.append(("all_participants follows the customer's actual state",
              _cs(record_mode="agent_only_allow_customer", conference_mode="all_participants"),
              _ev([ST, e(10, "party_joined", party="p2"), e(20, "customer_on"), e(30, "pause"),
                   e(40, "resume"), e(50, "customer_off"), e(55, "customer_on"), e(58, "party_left", party="p2"),
                   e(60, "call_ended")]),
              {"timeline": _tl((0, 20, T, F, F), (20, 30, T, T, T), (30, 40, F, F, F), (40, 50, T, T, T),
                               (50, 55, T, F, F), (55, 58, T, T, T), (58, 60, T, T, F)),
               "outcome": "kept", "refused": []}))
    C.append(("all_participants, consent declined: third parties not recorded",
              _cs(record_mode="both", conference_mode="all_participants"),
              _ev([ST_DECL, e(10, "party_joined", party="p2"), e(20, "customer_on"), e(60, "call_ended")]),
              {"timeline": _tl((0, 60, T, F, F)),
               "refused": [{"index": 2, "t_ms": 20, "event": "customer_on", "reason": "consent_declined"}]}))
    C.append(("receipts forced customer, overwrite, open take closed at end",
              _cc(record_mode="agent_only_receipts_forbid_customer"),
              _ev([ST, e(10, "receipt_start", order_id="A"), e(20, "receipt_stop"),
                   e(30, "receipt_start", order_id="A"), e(40, "call_ended")]),
              {"timeline": _tl((0, 10, T, F, F), (10, 20, T, T, F), (20, 30, T, F, F), (30, 40, T, T, F)),
               "receipts": [
                   {"order_id": "A", "seq": 1, "from_ms": 10, "to_ms": 20, "customer": T, "status": "overwritten"},
                   {"order_id": "A", "seq": 2, "from_ms": 30, "to_ms": 40, "customer": T, "status": "kept"}],
               "outcome": "kept"}))
    C.append(("multiple receipts kept; seq per order",
              _cc(record_mode="agent_only_allow_customer", multiple_receipts_per_order=True),
              _ev([ST, e(1, "customer_on"), e(10, "receipt_start", order_id="A"), e(11, "customer_off"),
                   e(20, "receipt_stop"), e(21, "customer_off"), e(30, "receipt_start", order_id="B"),
                   e(35, "receipt_stop"), e(36, "receipt_start", order_id="A"), e(37, "receipt_stop")]),
              {"timeline": _tl((0, 1, T, F, F), (1, 21, T, T, F), (21, 37, T, F, F)),
               "receipts": [
                   {"order_id": "A", "seq": 1, "from_ms": 10, "to_ms": 20, "customer": T, "status": "kept"},
                   {"order_id": "B", "seq": 1, "from_ms": 30, "to_ms": 35, "customer": F, "status": "kept"},
                   {"order_id": "A", "seq": 2, "from_ms": 36, "to_ms": 37, "customer": F, "status": "kept"}],
               "refused": [{"index": 3, "t_ms": 11, "event": "customer_off", "reason": "receipt_in_progress"}]}))
    C.append(("forbid mode: receipt holds the agent alone; toggle refusal order",
              _cc(record_mode="agent_only_forbid_customer"),
              _ev([ST, e(10, "receipt_start", order_id="A"), e(12, "customer_on"), e(14, "pause"),
                   e(16, "receipt_start", order_id="B"), e(20, "receipt_stop"), e(21, "receipt_stop"),
                   e(30, "call_ended")]),
              {"timeline": _tl((0, 30, T, F, F)),
               "receipts": [{"order_id": "A", "seq": 1, "from_ms": 10, "to_ms": 20, "customer": F, "status": "kept"}],
               "refused": [{"index": 2, "t_ms": 12, "event": "customer_on", "reason": "customer_recording_forbidden"},
                           {"index": 3, "t_ms": 14, "event": "pause", "reason": "receipt_in_progress"},
                           {"index": 4, "t_ms": 16, "event": "receipt_start", "reason": "receipt_in_progress"},
                           {"index": 6, "t_ms": 21, "event": "receipt_stop", "reason": "no_receipt_in_progress"}]}))
    C.append(("consent declined: receipts refused, customer never on",
              _cc(record_mode="both"),
              _ev([ST_DECL, e(5, "customer_off"), e(6, "receipt_start", order_id="A"), e(7, "pause"),
                   e(8, "receipt_start", order_id="A"), e(9, "call_ended")]),
              {"timeline": _tl((0, 7, T, F, F), (7, 9, F, F, F)),
               "refused": [{"index": 1, "t_ms": 5, "event": "customer_off", "reason": "consent_declined"},
                           {"index": 2, "t_ms": 6, "event": "receipt_start", "reason": "consent_declined"},
                           {"index": 4, "t_ms": 8, "event": "receipt_start", "reason": "consent_declined"}]}))
    C.append(("customer service: receipts unavailable before consent",
              _cs(record_mode="both"),
              _ev([ST_DECL, e(6, "receipt_start", order_id="A"), e(7, "receipt_stop"), e(9, "call_ended")]),
              {"refused": [{"index": 1, "t_ms": 6, "event": "receipt_start", "reason": "receipts_unavailable"},
                           {"index": 2, "t_ms": 7, "event": "receipt_stop", "reason": "no_receipt_in_progress"}]}))
    C.append(("start paused: receipt refused while paused, toggle works while paused",
              _cc(record_mode="agent_only_receipts_allow_customer", start_paused=True),
              _ev([ST, e(5, "receipt_start", order_id="A"), e(6, "customer_on"), e(7, "customer_on"),
                   e(8, "pause"), e(10, "resume"), e(12, "resume"), e(20, "call_ended")]),
              {"timeline": _tl((0, 10, F, F, F), (10, 20, T, T, F)),
               "refused": [{"index": 1, "t_ms": 5, "event": "receipt_start", "reason": "recording_paused"},
                           {"index": 3, "t_ms": 7, "event": "customer_on", "reason": "already_on"},
                           {"index": 4, "t_ms": 8, "event": "pause", "reason": "already_paused"},
                           {"index": 6, "t_ms": 12, "event": "resume", "reason": "not_paused"}]}))
    C.append(("before start / after end / already started; blank lines counted",
              _cc(record_mode="both"),
              "\n" + _ev([e(0, "party_joined", party="p2")]) + "\n" + _ev([
                  ST, e(1, "party_left", party="p2"), e(2, "call_started", direction="inbound", consent="granted"),
                  e(3, "party_joined", party="p2"), e(3, "party_joined", party="p2"), e(4, "customer_off"),
                  e(10, "call_ended"), e(11, "call_started", direction="inbound", consent="granted"),
                  e(12, "party_left", party="p2"), e(13, "call_ended")]),
              {"timeline": _tl((0, 10, T, T, F)), "outcome": "kept",
               "refused": [{"index": 1, "t_ms": 0, "event": "party_joined", "reason": "call_not_started"},
                           {"index": 4, "t_ms": 1, "event": "party_left", "reason": "unknown_party"},
                           {"index": 5, "t_ms": 2, "event": "call_started", "reason": "call_already_started"},
                           {"index": 7, "t_ms": 3, "event": "party_joined", "reason": "party_already_present"},
                           {"index": 8, "t_ms": 4, "event": "customer_off", "reason": "customer_always_recorded"},
                           {"index": 10, "t_ms": 11, "event": "call_started", "reason": "call_over"},
                           {"index": 11, "t_ms": 12, "event": "party_left", "reason": "call_over"},
                           {"index": 12, "t_ms": 13, "event": "call_ended", "reason": "call_over"}]}))
    C.append(("no call_ended: ends at the last event (refused), open receipt closed there",
              _cc(record_mode="agent_only_receipts_allow_customer"),
              _ev([ST, e(5, "receipt_start", order_id="A"), e(9, "pause")]),
              {"timeline": _tl((0, 5, T, F, F), (5, 9, T, T, F)),
               "receipts": [{"order_id": "A", "seq": 1, "from_ms": 5, "to_ms": 9, "customer": T, "status": "kept"}],
               "refused": [{"index": 2, "t_ms": 9, "event": "pause", "reason": "receipt_in_progress"}]}))
    C.append(("zero-length take at the end, zero-length intervals dropped",
              _cc(record_mode="agent_only_receipts_allow_customer"),
              _ev([ST, e(10, "receipt_start", order_id="A"), e(10, "call_ended")]),
              {"timeline": _tl((0, 10, T, F, F)),
               "receipts": [{"order_id": "A", "seq": 1, "from_ms": 10, "to_ms": 10, "customer": T, "status": "kept"}],
               "outcome": "kept"}))
    C.append(("call started only: timeline empty, outcome none", _cc(record_mode="both"), _ev([ST]),
              {"timeline": [], "outcome": "none"}))
    C.append(("call never started", _cs(record_mode="both"), _ev([e(3, "pause"), e(4, "call_ended")]),
              {"timeline": [], "outcome": "none",
               "refused": [{"index": 0, "t_ms": 3, "event": "pause", "reason": "call_not_started"},
                           {"index": 1, "t_ms": 4, "event": "call_ended", "reason": "call_not_started"}]}))
    C.append(("contact center: third parties never recorded, no stop",
              _cc(record_mode="both", conference_mode="global"),
              _ev([ST, e(10, "party_joined", party="p2"), e(20, "call_ended")]),
              {"timeline": _tl((0, 20, T, T, F)),
               "resolved": {"kind": "contact_center", "record_mode": "both", "conference_mode": None,
                            "start_paused": F, "agents_can_listen_to_others": F,
                            "multiple_receipts_per_order": F, "holding_months": 3,
                            "receipt_holding_months": 3}}))
    C.append(("resolution through global",
              {"global": {"customer_service": {"record_mode": "none"}, "holding_months": 7},
               "project": {"kind": "customer_service", "record_mode": "global", "holding_months": None,
                           "agents_can_listen_to_others": False, "multiple_receipts_per_order": False}},
              "",
              {"resolved": {"kind": "customer_service", "record_mode": "none",
                            "conference_mode": "agent_and_customer_only", "start_paused": F,
                            "agents_can_listen_to_others": F, "multiple_receipts_per_order": F,
                            "holding_months": 7, "receipt_holding_months": None}}))
    # §1/§8 (new): a receipt's holding time: the project's, else the global one, else the call's.
    C.append(("receipt holding time through global, then the call's",
              {"global": {"receipt_holding_months": 24, "holding_months": 6},
               "project": {"kind": "contact_center", "record_mode": "both"}},
              "",
              {"resolved": {"kind": "contact_center", "record_mode": "both", "conference_mode": None,
                            "start_paused": F, "agents_can_listen_to_others": F,
                            "multiple_receipts_per_order": F, "holding_months": 6,
                            "receipt_holding_months": 24}}))
    C.append(("receipt holding time as the call's when both are null",
              {"global": {"receipt_holding_months": None},
               "project": {"kind": "contact_center", "record_mode": "both", "holding_months": 12,
                           "receipt_holding_months": None}},
              "",
              {"resolved": {"kind": "contact_center", "record_mode": "both", "conference_mode": None,
                            "start_paused": F, "agents_can_listen_to_others": F,
                            "multiple_receipts_per_order": F, "holding_months": 12,
                            "receipt_holding_months": 12}}))
    # §3/§6 (new): consent withdrawn.
    C.append(("consent withdrawn mid-receipt: the take ends there, kept, its customer flag unchanged",
              _cc(record_mode="both"),
              _ev([ST, e(10, "receipt_start", order_id="A"), e(15, "consent_withdrawn"),
                   e(16, "receipt_stop"), e(17, "receipt_start", order_id="B"), e(18, "customer_on"),
                   e(19, "consent_withdrawn"), e(30, "call_ended")]),
              {"timeline": _tl((0, 15, T, T, F), (15, 30, T, F, F)),
               "receipts": [{"order_id": "A", "seq": 1, "from_ms": 10, "to_ms": 15, "customer": T, "status": "kept"}],
               "refused": [{"index": 3, "t_ms": 16, "event": "receipt_stop", "reason": "no_receipt_in_progress"},
                           {"index": 4, "t_ms": 17, "event": "receipt_start", "reason": "consent_declined"},
                           {"index": 5, "t_ms": 18, "event": "customer_on", "reason": "consent_declined"},
                           {"index": 6, "t_ms": 19, "event": "consent_withdrawn", "reason": "consent_declined"}]}))
    C.append(("consent withdrawn: a fact accepted while paused and in mode none; third parties follow",
              _cs(record_mode="both", conference_mode="all_participants"),
              _ev([ST, e(5, "party_joined", party="p2"), e(10, "pause"), e(12, "consent_withdrawn"),
                   e(14, "resume"), e(20, "call_ended")]),
              {"timeline": _tl((0, 5, T, T, F), (5, 10, T, T, T), (10, 14, F, F, F), (14, 20, T, F, F)),
               "refused": []}))
    bad = {"exit": 2}
    C += [
        ("t_ms 3.0", _cc(record_mode="both"), '{"t_ms": 3.0, "event": "pause"}\n', bad),
        ("t_ms negative", _cc(record_mode="both"), '{"t_ms": -1, "event": "pause"}\n', bad),
        ("t_ms decreasing", _cc(record_mode="both"), _ev([e(5, "pause"), e(4, "pause")]), bad),
        ("unknown event field", _cc(record_mode="both"), '{"t_ms": 3, "event": "pause", "x": 1}\n', bad),
        ("missing consent", _cc(record_mode="both"), '{"t_ms": 3, "event": "call_started", "direction": "inbound"}\n', bad),
        ("empty order id", _cc(record_mode="both"), _ev([ST, e(1, "receipt_start", order_id="")]), bad),
        ("unknown event", _cc(record_mode="both"), _ev([e(1, "hold")]), bad),
        ("bad event after end still an error", _cc(record_mode="both"),
         _ev([ST, e(1, "call_ended"), e(2, "call_started", direction="sideways", consent="granted")]), bad),
        ("cc none mode", _cc(record_mode="none"), "", bad),
        ("cs receipts mode", _cs(record_mode="agent_only_receipts_allow_customer"), "", bad),
        ("cc conference none", _cc(record_mode="both", conference_mode="none"), "", bad),
        ("cs multiple receipts true", _cs(record_mode="both", multiple_receipts_per_order=True), "", bad),
        ("cs listen true", _cs(record_mode="both", agents_can_listen_to_others=True), "", bad),
        ("holding 121", _cc(record_mode="both", holding_months=121), "", bad),
        ("holding 0", _cc(record_mode="both", holding_months=0), "", bad),
        ("global holding 0 on any kind", {"global": {"holding_months": 0}, **_cs(record_mode="both")}, "", bad),
        ("global cc mode none on a cs project",
         {"global": {"contact_center": {"record_mode": "none"}}, **_cs(record_mode="both")}, "", bad),
        ("global cs mode global", {"global": {"customer_service": {"record_mode": "global"}}, **_cc(record_mode="both")}, "", bad),
        ("unknown project field", _cc(record_mode="both", foo=1), "", bad),
        ("missing record_mode", _cc(), "", bad),
        ("holding true", _cc(record_mode="both", holding_months=True), "", bad),
        ("receipt holding on a cs project", _cs(record_mode="both", receipt_holding_months=3), "", bad),
        ("receipt holding 121", _cc(record_mode="both", receipt_holding_months=121), "", bad),
        ("offline days null", {"global": {"offline_policy_days": None}, **_cc(record_mode="both")}, "", bad),
        ("offline days 91", {"global": {"offline_policy_days": 91}, **_cc(record_mode="both")}, "", bad),
        ("offline days on a project", _cc(record_mode="both", offline_policy_days=7), "", bad),
        ("withdrawal with a field", _cc(record_mode="both"), '{"t_ms": 3, "event": "consent_withdrawn", "by": "agent"}\n', bad),
    ]
    ok = {"exit": 0}
    C += [
        ("cc conference global ok", _cc(record_mode="both", conference_mode="global"), "", ok),
        ("cs defaults ok", _cs(record_mode="both", multiple_receipts_per_order=False,
                               agents_can_listen_to_others=False), "", ok),
        ("holding 120 / 1 ok", _cc(record_mode="both", holding_months=120), "", ok),
        ("cs receipt holding null ok", _cs(record_mode="both", receipt_holding_months=None), "", ok),
        ("offline days 90 ok", {"global": {"offline_policy_days": 90}, **_cc(record_mode="both")}, "", ok),
    ]
    return C


def self_test(args):
    fails = 0
    # 1. the §9 example
    settings, events, output = _policy_example()
    code, out = model.simulate(settings, events)
    d = first_diff(output, out) if code == 0 else f"exit {code}"
    print(f"[{'ok' if not d else 'FAIL'}] POLICY.md §9 example" + (f": {d}" if d else ""))
    fails += bool(d)
    # same through the raw-text path
    code2, out2 = model.simulate(json.dumps(settings), events.encode())
    d2 = first_diff(output, out2) if code2 == 0 else f"exit {code2}"
    fails += bool(d2)
    if d2:
        print(f"[FAIL] §9 example (text input): {d2}")
    # 2. hand-written cases from the text
    for name, st, ev, checks in _hand_cases():
        r = model.simulate_detailed(st, ev)
        problems = []
        if "exit" in checks:
            if r.exit_code != checks["exit"]:
                problems.append(f"exit {r.exit_code} ({r.error})")
        else:
            if r.exit_code != 0:
                problems.append(f"exit {r.exit_code} ({r.error})")
            else:
                for k, v in checks.items():
                    dd = first_diff(v, r.output[k], "$." + k)
                    if dd:
                        problems.append(dd)
        fails += bool(problems)
        print(f"[{'ok' if not problems else 'FAIL'}] {name}" + ("" if not problems else ": " + "; ".join(problems)))
    # 3. generator and model agree on validity; coverage
    rng = random.Random(args.seed)
    cov = Counter()
    n = args.self_test_n
    internal = 0
    for _ in range(n):
        c = gen.gen_case(rng, ambiguous=args.ambiguous)
        r = model.simulate_detailed(c.settings_text, c.events_text)
        if (r.exit_code == 0) != c.valid:
            internal += 1
            if internal <= 5:
                print(f"[FAIL] generator meant valid={c.valid} but model says exit {r.exit_code} "
                      f"({r.error}); defect={c.defect}\n{c.settings_text}\n{c.events_text}")
        if r.exit_code == 0:
            coverage_of(r.output, cov)
            # invariants of the output
            tl = r.output["timeline"]
            for a, b in zip(tl, tl[1:]):
                assert a["to_ms"] == b["from_ms"], tl
                assert (a["agent"], a["customer"], a["third_parties"]) != (b["agent"], b["customer"], b["third_parties"]), tl
            for x in tl:
                assert x["from_ms"] < x["to_ms"], tl
                if r.output["outcome"] == "discarded":
                    assert not (x["agent"] or x["customer"] or x["third_parties"])
        else:
            cov["defect:" + (c.defect.desc if c.defect else "?")] += 1
    fails += bool(internal)
    print(f"[{'ok' if not internal else 'FAIL'}] generator/model validity agreement on {n} cases"
          + (f": {internal} disagreements" if internal else ""))
    missing = [x for x in model.REASONS if cov["reason:" + x] == 0]
    missing += [f"outcome:{o}" for o in ("kept", "none", "discarded") if cov["outcome:" + o] == 0]
    missing += [f"receipt:{s}" for s in ("kept", "overwritten") if cov["receipt:" + s] == 0]
    print(f"[{'ok' if not missing else 'FAIL'}] coverage of reasons/outcomes/statuses"
          + (f": never produced {missing}" if missing else ""))
    fails += bool(missing)
    if args.coverage:
        for k, v in sorted(cov.items()):
            print(f"    {k}: {v}")
    print("SELF-TEST", "PASSED" if not fails else f"FAILED ({fails})")
    return 0 if not fails else 1


def check_examples(root):
    """Every example's expected.json (written by the binary under test, BLESS=1) must be what
    the independent model computes from its settings and events."""
    import pathlib
    fails = 0
    dirs = sorted(d for d in pathlib.Path(root).iterdir() if (d / "expected.json").exists())
    for d in dirs:
        settings = (d / "settings.json").read_text()
        events = (d / "events.jsonl").read_text()
        expected = json.loads((d / "expected.json").read_text())
        code, out = model.simulate(settings, events.encode())
        problem = f"exit {code}" if code != 0 else first_diff(expected, out)
        fails += bool(problem)
        print(f"[{'ok' if not problem else 'FAIL'}] {d.name}" + (f": {problem}" if problem else ""))
    if not dirs:
        print(f"no example with an expected.json under {root}")
        return 1
    print(f"{len(dirs) - fails} of {len(dirs)} examples agree with the model")
    return 1 if fails else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="path to the callrec binary")
    ap.add_argument("--n", type=int, default=5000, help="number of random cases")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--self-test", action="store_true", help="check the model against POLICY.md's example")
    ap.add_argument("--self-test-n", type=int, default=20000, help="generated cases for the self-test's checks")
    ap.add_argument("--ambiguous", action="store_true",
                    help="also generate inputs that touch documented ambiguities (reported separately)")
    ap.add_argument("--only", choices=["valid", "invalid"], help="generate only valid or only invalid cases")
    ap.add_argument("--max-fail", type=int, default=3, help="stop after this many plain mismatches")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per binary run")
    ap.add_argument("--save-dir", default="/tmp/callrec-oracle-mismatches",
                    help="where reproductions are saved ('' to not save)")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--no-message-checks", action="store_true", help="skip the soft checks of error messages")
    ap.add_argument("--max-msg-examples", type=int, default=8)
    ap.add_argument("--coverage", action="store_true", help="print coverage counters")
    ap.add_argument("--replay", help="directory with settings.json and events.jsonl to compare once")
    ap.add_argument("--examples", help="check every DIR/*/expected.json against the model (no binary needed)")
    args = ap.parse_args(argv)
    if args.examples:
        return check_examples(args.examples)
    if args.self_test:
        return self_test(args)
    if not args.bin:
        ap.error("--bin is required (or use --self-test)")
    if args.replay:
        return replay(args)
    return run_many(args)


if __name__ == "__main__":
    sys.exit(main())
