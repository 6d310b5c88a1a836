"""Independent reference model of `callrec simulate` (POLICY.md §1-§7, §9, §10).

Standard library only. Written from /work/shared/POLICY.md alone.

Public API
----------
simulate(settings, events_text) -> (exit_code, output_dict_or_None)
    `settings` is either the parsed SETTINGS.json value (any JSON value, normally a
    dict) or the raw file contents (str/bytes).  `events_text` is the raw contents of
    EVENTS.jsonl (str or bytes).

simulate_detailed(settings, events_text) -> Result
    Same, plus the error message (for exit 2) and the set of ambiguity tags (see
    AMBIGUITIES.md) that the case touched.  A mismatch on a case carrying a tag may be
    a difference of reading rather than a bug.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- constants

KINDS = ["contact_center", "customer_service"]

CC_MODES = [
    "both",
    "agent_only_allow_customer",
    "agent_only_forbid_customer",
    "agent_only_receipts_allow_customer",
    "agent_only_receipts_forbid_customer",
]
CS_MODES = [
    "both",
    "agent_only_allow_customer",
    "agent_only_forbid_customer",
    "none",
]
CONF_MODES = [
    "all_participants",
    "none",
    "agent_and_customer_only",
    "stop_on_third_party",
]

GLOBAL_DEFAULTS = {
    "contact_center.record_mode": "both",
    "customer_service.record_mode": "both",
    "customer_service.conference_mode": "agent_and_customer_only",
    "holding_months": 3,
    "receipt_holding_months": None,
    "offline_policy_days": 7,
}

TOP_KEYS = ["global", "project"]
GLOBAL_KEYS = [
    "contact_center",
    "customer_service",
    "holding_months",
    "receipt_holding_months",
    "offline_policy_days",
]
GLOBAL_CC_KEYS = ["record_mode"]
GLOBAL_CS_KEYS = ["record_mode", "conference_mode"]
PROJECT_KEYS = [
    "id",
    "kind",
    "record_mode",
    "conference_mode",
    "start_paused",
    "agents_can_listen_to_others",
    "multiple_receipts_per_order",
    "holding_months",
    "receipt_holding_months",
]

EVENT_NAMES = [
    "call_started",
    "customer_on",
    "customer_off",
    "pause",
    "resume",
    "receipt_start",
    "receipt_stop",
    "party_joined",
    "party_left",
    "consent_withdrawn",
    "call_ended",
]
# required extra fields per event (all of them required; no optional extras exist)
EVENT_EXTRA = {
    "call_started": ["direction", "consent"],
    "receipt_start": ["order_id"],
    "party_joined": ["party"],
    "party_left": ["party"],
}
DIRECTIONS = ["inbound", "outbound"]
CONSENTS = ["granted", "declined", "not_asked"]

REASONS = [
    "call_not_started",
    "call_already_started",
    "call_over",
    "recording_disabled",
    "customer_always_recorded",
    "customer_recording_forbidden",
    "consent_declined",
    "already_on",
    "already_off",
    "already_paused",
    "not_paused",
    "recording_paused",
    "receipts_unavailable",
    "receipt_in_progress",
    "no_receipt_in_progress",
    "recording_stopped",
    "recording_discarded",
    "unknown_party",
    "party_already_present",
]

ALLOW_MODES = ("agent_only_allow_customer", "agent_only_receipts_allow_customer")
FORBID_MODES = ("agent_only_forbid_customer", "agent_only_receipts_forbid_customer")
RECEIPT_FORCES_CUSTOMER = (
    "both",
    "agent_only_receipts_allow_customer",
    "agent_only_receipts_forbid_customer",
)

# names used in error messages; simulate_detailed(..., settings_name=, events_name=) sets them
SETTINGS_FILE = "SETTINGS.json"
EVENTS_FILE = "EVENTS.jsonl"
_names = {"settings": SETTINGS_FILE, "events": EVENTS_FILE}

# ambiguity tags emitted at run time (documented in AMBIGUITIES.md)
AMB_ZERO_TAKE_OUTCOME = "A4-outcome-with-only-zero-length-takes"
AMB_WS_BLANK = "A3-whitespace-only-line"


class InputError(Exception):
    """Unreadable input: exit status 2, one line on stderr."""


@dataclass
class Result:
    exit_code: int
    output: dict | None
    error: str | None = None
    tags: set = field(default_factory=set)


# --------------------------------------------------------------------------- helpers


def _is_int(v) -> bool:
    # JSON integer: Python int but not bool (json gives bool for true/false)
    return isinstance(v, int) and not isinstance(v, bool)


def _reject_constant(name):
    # Python's json accepts NaN/Infinity/-Infinity, which are not JSON.
    raise ValueError(f"invalid JSON constant {name}")


def _loads(text: str):
    return json.loads(text, parse_constant=_reject_constant)


def _choices(values) -> str:
    return ", ".join(values)


def _err(file: str, where: str, msg: str) -> InputError:
    file = _names["settings"] if file == SETTINGS_FILE else _names["events"]
    return InputError(f"{file}: {where}{msg}")


# --------------------------------------------------------------------------- settings


def _check_keys(obj: dict, allowed, path: str):
    for k in obj:
        if k not in allowed:
            raise _err(
                SETTINGS_FILE,
                "",
                f"unknown field `{path}{k}`; valid fields: {_choices(allowed)}",
            )


def _check_enum(value, valid, path: str):
    if not isinstance(value, str) or value not in valid:
        raise _err(
            SETTINGS_FILE,
            "",
            f"invalid value {json.dumps(value)} for `{path}`; valid values: {_choices(valid)}",
        )


def _check_bool(value, path: str):
    if not isinstance(value, bool):
        raise _err(
            SETTINGS_FILE, "", f"invalid value {json.dumps(value)} for `{path}`; valid values: true, false"
        )


def _check_months(value, path: str, allow_null: bool):
    if value is None and allow_null:
        return
    if not _is_int(value) or not (1 <= value <= 120):
        raise _err(
            SETTINGS_FILE,
            "",
            f"invalid value {json.dumps(value)} for `{path}`; expected "
            + ("null or " if allow_null else "")
            + "an integer 1..=120",
        )


def resolve_settings(settings) -> dict:
    """Validate SETTINGS.json (parsed) and return the `resolved` object of §9."""
    if not isinstance(settings, dict):
        raise _err(SETTINGS_FILE, "", "expected a JSON object with fields global, project")
    _check_keys(settings, TOP_KEYS, "")

    # ---- global: every field optional, each validated whatever the project's kind (§10)
    g_cc_mode = GLOBAL_DEFAULTS["contact_center.record_mode"]
    g_cs_mode = GLOBAL_DEFAULTS["customer_service.record_mode"]
    g_cs_conf = GLOBAL_DEFAULTS["customer_service.conference_mode"]
    g_months = GLOBAL_DEFAULTS["holding_months"]
    g_receipt_months = GLOBAL_DEFAULTS["receipt_holding_months"]
    if "global" in settings:
        g = settings["global"]
        if not isinstance(g, dict):
            raise _err(SETTINGS_FILE, "", "`global` must be an object")
        _check_keys(g, GLOBAL_KEYS, "global.")
        if "contact_center" in g:
            cc = g["contact_center"]
            if not isinstance(cc, dict):
                raise _err(SETTINGS_FILE, "", "`global.contact_center` must be an object")
            _check_keys(cc, GLOBAL_CC_KEYS, "global.contact_center.")
            if "record_mode" in cc:
                _check_enum(cc["record_mode"], CC_MODES, "global.contact_center.record_mode")
                g_cc_mode = cc["record_mode"]
        if "customer_service" in g:
            cs = g["customer_service"]
            if not isinstance(cs, dict):
                raise _err(SETTINGS_FILE, "", "`global.customer_service` must be an object")
            _check_keys(cs, GLOBAL_CS_KEYS, "global.customer_service.")
            if "record_mode" in cs:
                _check_enum(cs["record_mode"], CS_MODES, "global.customer_service.record_mode")
                g_cs_mode = cs["record_mode"]
            if "conference_mode" in cs:
                _check_enum(
                    cs["conference_mode"], CONF_MODES, "global.customer_service.conference_mode"
                )
                g_cs_conf = cs["conference_mode"]
        if "holding_months" in g:
            # §10: "global.holding_months must be an integer 1..=120" (null rejected, see A2)
            _check_months(g["holding_months"], "global.holding_months", allow_null=False)
            g_months = g["holding_months"]
        if "receipt_holding_months" in g:
            # §1/§8 (new): null (as the call's holding time) or 1..=120
            _check_months(g["receipt_holding_months"], "global.receipt_holding_months", allow_null=True)
            g_receipt_months = g["receipt_holding_months"]
        if "offline_policy_days" in g:
            # §8 (new): only in global, an integer 1..=90; null is an input error
            days = g["offline_policy_days"]
            if not _is_int(days) or not (1 <= days <= 90):
                raise _err(
                    SETTINGS_FILE,
                    "",
                    f"invalid value {json.dumps(days)} for `global.offline_policy_days`; expected an integer 1..=90",
                )

    # ---- project
    if "project" not in settings:
        raise _err(SETTINGS_FILE, "", "missing field `project`")
    p = settings["project"]
    if not isinstance(p, dict):
        raise _err(SETTINGS_FILE, "", "`project` must be an object")
    _check_keys(p, PROJECT_KEYS, "project.")

    if "kind" not in p:
        raise _err(SETTINGS_FILE, "", f"missing field `project.kind`; valid values: {_choices(KINDS)}")
    _check_enum(p["kind"], KINDS, "project.kind")
    kind = p["kind"]
    cc_kind = kind == "contact_center"

    if "id" in p and not isinstance(p["id"], str):
        raise _err(SETTINGS_FILE, "", "`project.id` must be a string")

    modes = ["global"] + (CC_MODES if cc_kind else CS_MODES)
    if "record_mode" not in p:
        raise _err(
            SETTINGS_FILE, "", f"missing field `project.record_mode`; valid values: {_choices(modes)}"
        )
    _check_enum(p["record_mode"], modes, "project.record_mode")
    record_mode = p["record_mode"]
    if record_mode == "global":
        record_mode = g_cc_mode if cc_kind else g_cs_mode

    if cc_kind:
        # §10: may be left out or set to `global`; any other value is an input error
        if "conference_mode" in p:
            _check_enum(p["conference_mode"], ["global"], "project.conference_mode")
        conference_mode = None
    else:
        conference_mode = p.get("conference_mode", "global")
        _check_enum(conference_mode, ["global"] + CONF_MODES, "project.conference_mode")
        if conference_mode == "global":
            conference_mode = g_cs_conf

    start_paused = p.get("start_paused", False)
    _check_bool(start_paused, "project.start_paused")

    listen = p.get("agents_can_listen_to_others", False)
    multi = p.get("multiple_receipts_per_order", False)
    if cc_kind:
        _check_bool(listen, "project.agents_can_listen_to_others")
        _check_bool(multi, "project.multiple_receipts_per_order")
    else:
        # do not exist for customer service: only the default value (false) is accepted
        for name, v in (("agents_can_listen_to_others", listen), ("multiple_receipts_per_order", multi)):
            if v is not False:
                raise _err(
                    SETTINGS_FILE,
                    "",
                    f"invalid value {json.dumps(v)} for `project.{name}`: the setting does not exist "
                    f"for customer_service projects; valid values: false",
                )

    months = p.get("holding_months", None)
    _check_months(months, "project.holding_months", allow_null=True)
    if months is None:
        months = g_months

    # §1/§8 (new): contact center: null or 1..=120, null takes the global value, and a null
    # global value the call's holding time; customer service: left out or null only.
    receipt_months = p.get("receipt_holding_months", None)
    if cc_kind:
        _check_months(receipt_months, "project.receipt_holding_months", allow_null=True)
        if receipt_months is None:
            receipt_months = g_receipt_months if g_receipt_months is not None else months
    elif receipt_months is not None:
        raise _err(
            SETTINGS_FILE,
            "",
            f"invalid value {json.dumps(receipt_months)} for `project.receipt_holding_months`: the setting "
            f"does not exist for customer_service projects; valid values: null",
        )

    return {
        "kind": kind,
        "record_mode": record_mode,
        "conference_mode": conference_mode,
        "start_paused": start_paused,
        "agents_can_listen_to_others": listen,
        "multiple_receipts_per_order": multi,
        "holding_months": months,
        "receipt_holding_months": receipt_months,
    }


# --------------------------------------------------------------------------- events


def _split_lines(text: str):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _is_blank(line: str) -> bool:
    return line.strip(" \t\r") == ""


def parse_events(events_text: str, tags: set):
    """Validate EVENTS.jsonl; return a list of (index, t_ms, event_dict)."""
    out = []
    prev_t = None
    for idx, line in enumerate(_split_lines(events_text)):
        ln = idx + 1
        where = f"line {ln}: "
        if _is_blank(line):
            if line != "":
                tags.add(AMB_WS_BLANK)
            continue
        try:
            obj = _loads(line)
        except (ValueError, RecursionError) as e:
            raise _err(EVENTS_FILE, where, f"bad JSON: {e}")
        if not isinstance(obj, dict):
            raise _err(EVENTS_FILE, where, "expected a JSON object")
        if "event" not in obj:
            raise _err(EVENTS_FILE, where, f"missing field `event`; valid values: {_choices(EVENT_NAMES)}")
        name = obj["event"]
        if not isinstance(name, str) or name not in EVENT_NAMES:
            raise _err(
                EVENTS_FILE,
                where,
                f"invalid value {json.dumps(name)} for `event`; valid values: {_choices(EVENT_NAMES)}",
            )
        extras = EVENT_EXTRA.get(name, [])
        allowed = ["t_ms", "event"] + extras
        for k in obj:
            if k not in allowed:
                raise _err(
                    EVENTS_FILE, where, f"unknown field `{k}` for {name}; valid fields: {_choices(allowed)}"
                )
        if "t_ms" not in obj:
            raise _err(EVENTS_FILE, where, "missing field `t_ms`")
        t = obj["t_ms"]
        if not _is_int(t) or t < 0:
            raise _err(EVENTS_FILE, where, f"invalid value {json.dumps(t)} for `t_ms`; expected a non-negative integer")
        for k in extras:
            if k not in obj:
                raise _err(EVENTS_FILE, where, f"missing field `{k}` for {name}")
            v = obj[k]
            if k == "direction":
                if not isinstance(v, str) or v not in DIRECTIONS:
                    raise _err(EVENTS_FILE, where, f"invalid value {json.dumps(v)} for `direction`; valid values: {_choices(DIRECTIONS)}")
            elif k == "consent":
                if not isinstance(v, str) or v not in CONSENTS:
                    raise _err(EVENTS_FILE, where, f"invalid value {json.dumps(v)} for `consent`; valid values: {_choices(CONSENTS)}")
            else:  # order_id, party
                if not isinstance(v, str) or v == "":
                    raise _err(EVENTS_FILE, where, f"invalid value {json.dumps(v)} for `{k}`; expected a non-empty string")
        if prev_t is not None and t < prev_t:
            raise _err(EVENTS_FILE, where, f"`t_ms` decreases ({t} < {prev_t})")
        prev_t = t
        out.append((idx, t, obj))
    return out


# --------------------------------------------------------------------------- policy engine


def run_policy(resolved: dict, events, tags: set) -> dict:
    kind = resolved["kind"]
    mode = resolved["record_mode"]
    conf = resolved["conference_mode"]
    multi = resolved["multiple_receipts_per_order"]
    is_cc = kind == "contact_center"
    disabled = mode == "none"

    started = False
    ended = False
    start_t = None
    end_t = None
    declined = False  # consent declined at the start, or withdrawn since (§3)
    paused = False
    toggle = False  # the agent's customer toggle (what applies outside receipts)
    receipt = None  # the open take (a dict inside `takes`)
    takes = []
    refused = []
    present = set()
    first_party_seen = False
    stopped = False
    discarded = False
    changes = []  # (t, (agent, customer, third_parties)) from t on

    def flags():
        if disabled or stopped or discarded or paused:
            return (False, False, False)
        if declined:
            cust = False
        elif receipt is not None:
            cust = receipt["customer"]
        else:
            cust = toggle
        third = (not is_cc) and conf == "all_participants" and bool(present) and cust
        return (True, cust, third)

    for idx, t, ev in events:
        name = ev["event"]
        reason = None
        if not started:
            if name != "call_started":
                reason = "call_not_started"
            else:
                started = True
                start_t = t
                declined = ev["consent"] == "declined"
                paused = bool(resolved["start_paused"])
                toggle = mode == "both"
        elif ended:
            reason = "call_over"
        elif name == "call_started":
            reason = "call_already_started"
        elif name in ("customer_on", "customer_off"):
            on = name == "customer_on"
            if disabled:
                reason = "recording_disabled"
            elif discarded:
                reason = "recording_discarded"
            elif stopped:
                reason = "recording_stopped"
            elif declined:
                reason = "consent_declined"
            elif mode == "both":
                reason = "customer_always_recorded"
            elif mode in FORBID_MODES:
                reason = "customer_recording_forbidden"
            elif receipt is not None:
                reason = "receipt_in_progress"
            elif on and toggle:
                reason = "already_on"
            elif not on and not toggle:
                reason = "already_off"
            else:
                assert mode in ALLOW_MODES
                toggle = on
        elif name in ("pause", "resume"):
            if disabled:
                reason = "recording_disabled"
            elif discarded:
                reason = "recording_discarded"
            elif stopped:
                reason = "recording_stopped"
            elif receipt is not None:
                reason = "receipt_in_progress"
            elif name == "pause" and paused:
                reason = "already_paused"
            elif name == "resume" and not paused:
                reason = "not_paused"
            else:
                paused = name == "pause"
        elif name == "receipt_start":
            if not is_cc:
                reason = "receipts_unavailable"
            elif declined:
                reason = "consent_declined"
            elif receipt is not None:
                reason = "receipt_in_progress"
            elif paused:
                reason = "recording_paused"
            else:
                oid = ev["order_id"]
                same = [k for k in takes if k["order_id"] == oid]
                if not multi:
                    for k in same:
                        k["status"] = "overwritten"
                cust = mode in RECEIPT_FORCES_CUSTOMER or (
                    mode == "agent_only_allow_customer" and toggle
                )
                receipt = {
                    "order_id": oid,
                    "seq": len(same) + 1,
                    "from_ms": t,
                    "to_ms": None,
                    "customer": cust,
                    "status": "kept",
                }
                takes.append(receipt)
        elif name == "receipt_stop":
            if receipt is None:
                reason = "no_receipt_in_progress"
            else:
                receipt["to_ms"] = t
                receipt = None
        elif name == "party_joined":
            party = ev["party"]
            if party in present:
                reason = "party_already_present"
            else:
                present.add(party)
                if not first_party_seen:
                    first_party_seen = True
                    if not is_cc and not disabled:
                        if conf == "stop_on_third_party":
                            stopped = True
                        elif conf == "none":
                            discarded = True
        elif name == "party_left":
            party = ev["party"]
            if party not in present:
                reason = "unknown_party"
            else:
                present.discard(party)
        elif name == "consent_withdrawn":
            # §3/§6 (new): a fact of the call, refused only when consent is already declined
            # or withdrawn; from its instant the call is as if consent had been declined, and a
            # receipt in progress ends there (kept, its customer flag unchanged).
            if declined:
                reason = "consent_declined"
            else:
                declined = True
                if receipt is not None:
                    receipt["to_ms"] = t
                    receipt = None
        elif name == "call_ended":
            ended = True
            end_t = t
            if receipt is not None:
                receipt["to_ms"] = t
                receipt = None
        else:  # pragma: no cover - validated earlier
            raise AssertionError(name)

        if reason is not None:
            assert reason in REASONS
            refused.append({"index": idx, "t_ms": t, "event": name, "reason": reason})
        elif not ended:
            # accepted event inside the call (call_started included): flags from t on
            changes.append((t, flags()))

    # ---- §7 outcome
    timeline = []
    if started:
        last_t = events[-1][1]
        stop_at = end_t if ended else last_t
        if receipt is not None:  # open take at the end of a call that never ended
            receipt["to_ms"] = stop_at
            receipt = None
        raw = []
        for i, (t, f) in enumerate(changes):
            to = changes[i + 1][0] if i + 1 < len(changes) else stop_at
            if to > t:  # zero-length intervals dropped
                raw.append([t, to, f])
        if discarded:
            for r in raw:
                r[2] = (False, False, False)
        for r in raw:
            if timeline and timeline[-1][2] == r[2] and timeline[-1][1] == r[0]:
                timeline[-1][1] = r[1]
            else:
                timeline.append(list(r))
    timeline_out = [
        {"from_ms": a, "to_ms": b, "agent": f[0], "customer": f[1], "third_parties": f[2]}
        for a, b, f in timeline
    ]
    if discarded:
        outcome = "discarded"
    elif any(any(f) for _, _, f in timeline):
        outcome = "kept"
    else:
        outcome = "none"
        if takes:
            tags.add(AMB_ZERO_TAKE_OUTCOME)

    return {
        "resolved": dict(resolved),
        "timeline": timeline_out,
        "receipts": [dict(k) for k in takes],
        "refused": refused,
        "outcome": outcome,
    }


# --------------------------------------------------------------------------- entry points


def _to_text(data) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return data


def simulate_detailed(settings, events_text, settings_name=SETTINGS_FILE, events_name=EVENTS_FILE) -> Result:
    tags: set = set()
    _names["settings"], _names["events"] = settings_name, events_name
    try:
        # settings errors are reported before events errors (§10)
        if isinstance(settings, (str, bytes)):
            try:
                settings = _loads(_to_text(settings))
            except (ValueError, RecursionError) as e:
                raise _err(SETTINGS_FILE, "", f"bad JSON: {e}")
        resolved = resolve_settings(settings)
        try:
            text = _to_text(events_text)
        except ValueError as e:
            raise _err(EVENTS_FILE, "", f"not UTF-8: {e}")
        events = parse_events(text, tags)
    except InputError as e:
        return Result(2, None, str(e).replace("\n", " "), tags)
    return Result(0, run_policy(resolved, events, tags), None, tags)


def simulate(settings, events_text):
    r = simulate_detailed(settings, events_text)
    return r.exit_code, r.output


def main(argv=None):
    """Tiny CLI mirroring `callrec simulate --settings S --events E`."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="model.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("simulate")
    s.add_argument("--settings", required=True)
    s.add_argument("--events", required=True)
    a = ap.parse_args(argv)
    with open(a.settings, "rb") as f:
        st = f.read()
    with open(a.events, "rb") as f:
        ev = f.read()
    r = simulate_detailed(st, ev, a.settings, a.events)
    if r.exit_code == 0:
        sys.stdout.write(json.dumps(r.output, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(r.error + "\n")
    return r.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
