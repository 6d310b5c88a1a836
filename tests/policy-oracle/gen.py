"""Random case generator for differential testing of `callrec simulate`.

gen_case(rng, ...) -> Case

A Case carries the exact file contents (settings_text, events_text), whether it is meant
to be valid, the defect it carries when invalid (file, 1-based line, field, valid values:
used for the soft checks of the error message), and `tags`: ambiguity ids (AMBIGUITIES.md)
that the case touches, so that a mismatch on it can be told apart from a plain bug.

Ambiguous inputs are only generated when `ambiguous=True`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from model import (
    CC_MODES,
    CONF_MODES,
    CONSENTS,
    CS_MODES,
    DIRECTIONS,
    EVENT_EXTRA,
    EVENT_NAMES,
    KINDS,
)

AMB_FOREIGN_FIELD = "A1-field-of-another-event-kind"
AMB_NULL_OPTIONAL = "A2-null-for-optional-setting"
AMB_WS_BLANK = "A3-whitespace-only-line"
AMB_ID_TYPE = "A5-project-id-not-a-string"


@dataclass
class Defect:
    file: str  # "settings" or "events"
    desc: str
    line: int | None = None  # 1-based physical line (events)
    field: str | None = None  # leaf field name expected in the message
    values: list | None = None  # valid values the message should list


@dataclass
class Case:
    settings_text: str
    events_text: str
    valid: bool
    defect: Defect | None = None
    tags: set = field(default_factory=set)
    note: str = ""


# --------------------------------------------------------------------------- serialisation


def dumps_obj(rng: random.Random, obj, shuffle=True) -> str:
    """One-line JSON with random key order / separators / ascii escaping."""
    if isinstance(obj, dict) and shuffle:
        items = list(obj.items())
        rng.shuffle(items)
        obj = dict(items)
    seps = rng.choice([(", ", ": "), (",", ":"), (", ", ":")])
    return json.dumps(obj, separators=seps, ensure_ascii=rng.random() < 0.5)


def dumps_settings(rng: random.Random, obj) -> str:
    r = rng.random()
    if r < 0.4:
        return json.dumps(obj)
    if r < 0.8:
        return json.dumps(obj, indent=rng.choice([1, 2, 4])) + "\n"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- settings


def gen_settings(rng: random.Random, kind: str | None = None) -> dict:
    s: dict = {}
    if rng.random() < 0.7:
        g: dict = {}
        if rng.random() < 0.7:
            cc = {}
            if rng.random() < 0.85:
                cc["record_mode"] = rng.choice(CC_MODES)
            g["contact_center"] = cc
        if rng.random() < 0.7:
            cs = {}
            if rng.random() < 0.8:
                cs["record_mode"] = rng.choice(CS_MODES)
            if rng.random() < 0.8:
                cs["conference_mode"] = rng.choice(CONF_MODES)
            g["customer_service"] = cs
        if rng.random() < 0.6:
            g["holding_months"] = rng.choice([1, 2, 3, 6, 12, 24, 119, 120, rng.randint(1, 120)])
        if rng.random() < 0.4:
            g["receipt_holding_months"] = rng.choice([None, 1, 6, 24, 120, rng.randint(1, 120)])
        if rng.random() < 0.3:
            g["offline_policy_days"] = rng.choice([1, 7, 30, 90, rng.randint(1, 90)])
        s["global"] = g
    kind = kind or rng.choice(KINDS)
    p: dict = {}
    if rng.random() < 0.7:
        p["id"] = rng.choice(["sales-fr", "p1", "support", "x", "Übersee-7"])
    p["kind"] = kind
    cc_kind = kind == "contact_center"
    modes = ["global"] + (CC_MODES if cc_kind else CS_MODES)
    p["record_mode"] = rng.choice(modes)
    if cc_kind:
        if rng.random() < 0.2:
            p["conference_mode"] = "global"
    else:
        if rng.random() < 0.8:
            p["conference_mode"] = rng.choices(["global"] + CONF_MODES, weights=[3, 4, 2, 2, 2])[0]
    if rng.random() < 0.7:
        p["start_paused"] = rng.random() < 0.35
    if rng.random() < 0.5:
        p["agents_can_listen_to_others"] = (rng.random() < 0.5) if cc_kind else False
    if rng.random() < 0.7:
        p["multiple_receipts_per_order"] = (rng.random() < 0.5) if cc_kind else False
    if rng.random() < 0.6:
        p["holding_months"] = rng.choice([None, 1, 3, 12, 120, rng.randint(1, 120)])
    if rng.random() < 0.4:
        p["receipt_holding_months"] = rng.choice([None, 2, 36, rng.randint(1, 120)]) if cc_kind else None
    # random key order
    items = list(p.items())
    rng.shuffle(items)
    s["project"] = dict(items)
    if rng.random() < 0.5:
        s = {"project": s["project"], **({"global": s["global"]} if "global" in s else {})}
    return s


# --------------------------------------------------------------------------- events


ORDER_POOL = ["A-17", "A-18", "B", "a-17", "ordre-é", "42"]
PARTY_POOL = ["p2", "p3", "p4", "P2", "sup ervisor", "+33123456789"]


def _ev(t, name, **kw):
    d = {"t_ms": t, "event": name}
    d.update(kw)
    return d


def _call_started(rng, t):
    consent = rng.choices(CONSENTS, weights=[4, 2, 3])[0]
    return _ev(t, "call_started", direction=rng.choice(DIRECTIONS), consent=consent)


def _random_in_call_event(rng, t, kind, parties_present, order_pool, party_pool):
    cc_kind = kind == "contact_center"
    names = [
        ("customer_on", 10),
        ("customer_off", 8),
        ("pause", 8),
        ("resume", 8),
        ("receipt_start", 12 if cc_kind else 3),
        ("receipt_stop", 9 if cc_kind else 2),
        ("party_joined", 7 if cc_kind else 10),
        ("party_left", 5 if cc_kind else 7),
        ("consent_withdrawn", 2),
        ("call_started", 1),
        ("call_ended", 0),  # placed separately
    ]
    name = rng.choices([n for n, _ in names], weights=[w for _, w in names])[0]
    if name == "call_started":
        return _call_started(rng, t)
    if name == "receipt_start":
        return _ev(t, name, order_id=rng.choice(order_pool))
    if name == "party_joined":
        return _ev(t, name, party=rng.choice(party_pool))
    if name == "party_left":
        if parties_present and rng.random() < 0.75:
            return _ev(t, name, party=rng.choice(sorted(parties_present)))
        return _ev(t, name, party=rng.choice(party_pool))
    return _ev(t, name)


def _any_event(rng, t, kind, order_pool, party_pool):
    name = rng.choice(EVENT_NAMES)
    if name == "call_started":
        return _call_started(rng, t)
    if name == "receipt_start":
        return _ev(t, name, order_id=rng.choice(order_pool))
    if name in ("party_joined", "party_left"):
        return _ev(t, name, party=rng.choice(party_pool))
    return _ev(t, name)


class _Clock:
    def __init__(self, rng):
        self.rng = rng
        r = rng.random()
        if r < 0.5:
            self.t = 0
        elif r < 0.9:
            self.t = rng.randint(0, 5000)
        else:
            self.t = rng.randint(10**12, 2 * 10**12)  # epoch-like origin

    def next(self):
        r = self.rng.random()
        if r < 0.3:
            pass  # equal timestamp
        elif r < 0.5:
            self.t += self.rng.randint(1, 10)
        else:
            self.t += self.rng.randint(1, 8000)
        return self.t


def gen_event_dicts(rng: random.Random, kind: str) -> list:
    """A list of event dicts with non-decreasing t_ms (valid, possibly odd sequences)."""
    clock = _Clock(rng)
    order_pool = rng.sample(ORDER_POOL, rng.randint(1, 3))
    party_pool = rng.sample(PARTY_POOL, rng.randint(1, 3))
    evs = []
    shape = rng.random()
    if shape < 0.03:
        return []
    if shape < 0.08:
        # never started: random events only
        for _ in range(rng.randint(1, 6)):
            e = _any_event(rng, clock.next(), kind, order_pool, party_pool)
            if e["event"] == "call_started":
                continue
            evs.append(e)
        return evs
    # events before the start
    if rng.random() < 0.2:
        for _ in range(rng.randint(1, 3)):
            e = _any_event(rng, clock.next(), kind, order_pool, party_pool)
            if e["event"] == "call_started":
                continue
            evs.append(e)
    evs.append(_call_started(rng, clock.next()))
    present: set = set()
    n = rng.choice([0, 1, 2, 3, rng.randint(0, 12), rng.randint(5, 30), rng.randint(10, 40)])
    for _ in range(n):
        e = _random_in_call_event(rng, clock.next(), kind, present, order_pool, party_pool)
        if e["event"] == "party_joined":
            present.add(e["party"])
        elif e["event"] == "party_left":
            present.discard(e["party"])
        evs.append(e)
    if rng.random() < 0.75:
        evs.append(_ev(clock.next(), "call_ended"))
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 3)):
                evs.append(_any_event(rng, clock.next(), kind, order_pool, party_pool))
    return evs


def render_events(rng: random.Random, evs: list, ambiguous: bool, tags: set):
    """Render to EVENTS.jsonl text. Returns (text, line_of_event) where line_of_event[i]
    is the 0-based physical line of evs[i]."""
    lines = []
    line_of = []
    blank_p = rng.choice([0.0, 0.0, 0.1, 0.3])
    for e in evs:
        while rng.random() < blank_p:
            if ambiguous and rng.random() < 0.3:
                lines.append(rng.choice([" ", "\t", "  \t "]))
                tags.add(AMB_WS_BLANK)
            else:
                lines.append("")
        line_of.append(len(lines))
        lines.append(dumps_obj(rng, e))
    if rng.random() < blank_p:
        lines.append("")  # trailing blank line
    text = "\n".join(lines)
    if lines and rng.random() < 0.85:
        text += "\n"
    return text, line_of


# --------------------------------------------------------------------------- valid cases


def gen_valid(rng: random.Random, ambiguous=False) -> Case:
    s = gen_settings(rng)
    kind = s["project"]["kind"]
    tags: set = set()
    evs = gen_event_dicts(rng, kind)
    text, _ = render_events(rng, evs, ambiguous, tags)
    return Case(dumps_settings(rng, s), text, True, None, tags)


# --------------------------------------------------------------------------- invalid settings

_WRONG_STRINGS = ["", "Both", "BOTH", "global ", "all", "agent_only", "record_all", "null"]


def _settings_defects(rng: random.Random, s: dict, ambiguous: bool):
    """Mutate `s` (a valid settings dict) in place to carry one defect.
    Returns (Defect, tags) or (Defect, tags, replacement_text)."""
    p = s["project"]
    kind = p["kind"]
    cc_kind = kind == "contact_center"
    tags: set = set()
    choice = rng.choice(
        [
            "bad_json",
            "not_object",
            "missing_project",
            "project_not_object",
            "missing_kind",
            "missing_record_mode",
            "unknown_top",
            "unknown_project",
            "unknown_global",
            "unknown_global_cc",
            "unknown_global_cs",
            "bad_kind",
            "bad_record_mode",
            "other_kind_record_mode",
            "cc_conference_mode",
            "cs_bad_conference_mode",
            "bool_type",
            "cs_listen_true",
            "cs_multi_true",
            "holding_range",
            "holding_type",
            "global_holding",
            "global_cc_mode",
            "global_cs_mode",
            "global_cs_conf",
            "global_sub_not_object",
            "global_not_object",
            "null_optional",
            "id_type",
            "receipt_holding_range",
            "cs_receipt_holding",
            "global_receipt_holding",
            "offline_days_range",
            "offline_days_on_project",
        ]
    )
    if choice == "bad_json":
        txt = json.dumps(s)
        txt = rng.choice([txt[:-1], txt + "}", txt.replace('"project"', "project", 1), "", "{", "nul"])
        return Defect("settings", choice), tags, txt
    if choice == "not_object":
        txt = rng.choice(["[]", "null", "3", '"project"', json.dumps([s])])
        return Defect("settings", choice), tags, txt
    if choice == "missing_project":
        del s["project"]
        return Defect("settings", choice, field="project"), tags
    if choice == "project_not_object":
        s["project"] = rng.choice([[], "sales", None, 1])
        return Defect("settings", choice, field="project"), tags
    if choice == "missing_kind":
        del p["kind"]
        return Defect("settings", choice, field="kind"), tags
    if choice == "missing_record_mode":
        del p["record_mode"]
        return Defect("settings", choice, field="record_mode"), tags
    if choice == "unknown_top":
        s[rng.choice(["globals", "Project", "version", "settings"])] = {}
        return Defect("settings", choice, field=None), tags
    if choice == "unknown_project":
        k = rng.choice(["mode", "recordMode", "paused", "kind_", "listen", "holding", "conference"])
        p[k] = rng.choice([True, "global", 1])
        return Defect("settings", choice, field=k), tags
    if choice == "unknown_global":
        g = s.setdefault("global", {})
        k = rng.choice(["record_mode", "conference_mode", "contactCenter", "holding"])
        g[k] = "both"
        return Defect("settings", choice, field=k), tags
    if choice == "unknown_global_cc":
        g = s.setdefault("global", {})
        cc = g.setdefault("contact_center", {})
        k = rng.choice(["conference_mode", "start_paused", "mode"])
        cc[k] = "all_participants" if k == "conference_mode" else True
        return Defect("settings", choice, field=k), tags
    if choice == "unknown_global_cs":
        g = s.setdefault("global", {})
        cs = g.setdefault("customer_service", {})
        k = rng.choice(["holding_months", "multiple_receipts_per_order", "mode"])
        cs[k] = 3 if k == "holding_months" else True
        return Defect("settings", choice, field=k), tags
    if choice == "bad_kind":
        p["kind"] = rng.choice(["outbound", "omni", "Contact_center", "", 1, None])
        return Defect("settings", choice, field="kind", values=list(KINDS)), tags
    modes = ["global"] + (CC_MODES if cc_kind else CS_MODES)
    if choice == "bad_record_mode":
        p["record_mode"] = rng.choice(_WRONG_STRINGS + [1, True, None])
        return Defect("settings", choice, field="record_mode", values=modes), tags
    if choice == "other_kind_record_mode":
        if cc_kind:
            p["record_mode"] = "none"
        else:
            p["record_mode"] = rng.choice(CC_MODES[3:])
        return Defect("settings", choice, field="record_mode", values=modes), tags
    if choice == "cc_conference_mode":
        if cc_kind:
            p["conference_mode"] = rng.choice(CONF_MODES + ["bogus"])
            return Defect("settings", choice, field="conference_mode"), tags
        choice = "cs_bad_conference_mode"
    if choice == "cs_bad_conference_mode":
        if not cc_kind:
            p["conference_mode"] = rng.choice(_WRONG_STRINGS + ["both", 1, False])
            return Defect("settings", choice, field="conference_mode", values=["global"] + CONF_MODES), tags
        p["conference_mode"] = "stop_on_third_party"
        return Defect("settings", choice, field="conference_mode"), tags
    if choice == "bool_type":
        k = rng.choice(
            ["start_paused"]
            + (["agents_can_listen_to_others", "multiple_receipts_per_order"] if cc_kind else [])
        )
        p[k] = rng.choice(["true", "false", 0, 1, "yes", [], {}])
        return Defect("settings", choice, field=k), tags
    if choice in ("cs_listen_true", "cs_multi_true"):
        k = "agents_can_listen_to_others" if choice == "cs_listen_true" else "multiple_receipts_per_order"
        if cc_kind:
            p["kind"] = "customer_service"
            if p["record_mode"] not in ["global"] + CS_MODES:
                p["record_mode"] = rng.choice(["global"] + CS_MODES)
            p.pop("conference_mode", None)
            for kk in ("agents_can_listen_to_others", "multiple_receipts_per_order"):
                if kk in p:
                    p[kk] = False
        p[k] = True
        return Defect("settings", choice, field=k), tags
    if choice == "holding_range":
        p["holding_months"] = rng.choice([0, -1, 121, 1000, -120])
        return Defect("settings", choice, field="holding_months"), tags
    if choice == "holding_type":
        p["holding_months"] = rng.choice([3.0, 2.5, "3", True, False, [3], {}])
        return Defect("settings", choice, field="holding_months"), tags
    g = s.setdefault("global", {})
    if choice == "global_holding":
        g["holding_months"] = rng.choice([0, 121, 3.0, "3", -5, True])
        return Defect("settings", choice, field="holding_months"), tags
    if choice == "global_cc_mode":
        cc = g.setdefault("contact_center", {})
        cc["record_mode"] = rng.choice(["global", "none", "", "both ", 0])
        return Defect("settings", choice, field="record_mode", values=list(CC_MODES)), tags
    if choice == "global_cs_mode":
        cs = g.setdefault("customer_service", {})
        cs["record_mode"] = rng.choice(["global", CC_MODES[3], CC_MODES[4], "", 0])
        return Defect("settings", choice, field="record_mode", values=list(CS_MODES)), tags
    if choice == "global_cs_conf":
        cs = g.setdefault("customer_service", {})
        cs["conference_mode"] = rng.choice(["global", "both", "", "all", False])
        return Defect("settings", choice, field="conference_mode", values=list(CONF_MODES)), tags
    if choice == "global_sub_not_object":
        k = rng.choice(["contact_center", "customer_service"])
        g[k] = rng.choice(["both", [], 1])
        return Defect("settings", choice, field=k), tags
    if choice == "global_not_object":
        s["global"] = rng.choice([[], "both", 3])
        return Defect("settings", choice, field="global"), tags
    if choice == "null_optional":
        # treated as an error by the model, but a reasonable reading could accept it
        tags.add(AMB_NULL_OPTIONAL)
        opts = [("project", "start_paused"), ("project", "id"), ("global", "holding_months"),
                ("global.contact_center", "record_mode"), ("global.customer_service", "record_mode"),
                ("global.customer_service", "conference_mode"), ("global", "contact_center"),
                ("global", "customer_service"), ("top", "global"),
                ("project", "agents_can_listen_to_others"), ("project", "multiple_receipts_per_order")]
        if not cc_kind:
            opts.append(("project", "conference_mode"))
        where, k = rng.choice(opts)
        if where == "project":
            p[k] = None
        elif where == "global":
            g[k] = None
        elif where == "top":
            s["global"] = None
        else:
            g.setdefault(where.split(".")[1], {})[k] = None
        return Defect("settings", choice, field=k), tags
    if choice == "receipt_holding_range":
        if not cc_kind:
            choice = "cs_receipt_holding"
        else:
            p["receipt_holding_months"] = rng.choice([0, -1, 121, 2.5, "3", True])
            return Defect("settings", choice, field="receipt_holding_months"), tags
    if choice == "cs_receipt_holding":
        if cc_kind:
            p["kind"] = "customer_service"
            if p["record_mode"] not in ["global"] + CS_MODES:
                p["record_mode"] = rng.choice(["global"] + CS_MODES)
            p.pop("conference_mode", None)
            for kk in ("agents_can_listen_to_others", "multiple_receipts_per_order"):
                if kk in p:
                    p[kk] = False
        p["receipt_holding_months"] = rng.choice([1, 3, 120])
        return Defect("settings", choice, field="receipt_holding_months"), tags
    if choice == "global_receipt_holding":
        s.setdefault("global", {})["receipt_holding_months"] = rng.choice([0, 121, 3.0, "3", False])
        return Defect("settings", choice, field="receipt_holding_months"), tags
    if choice == "offline_days_range":
        s.setdefault("global", {})["offline_policy_days"] = rng.choice([0, 91, None, 7.0, "7", True, -1])
        return Defect("settings", choice, field="offline_policy_days"), tags
    if choice == "offline_days_on_project":
        p["offline_policy_days"] = rng.choice([7, None, 30])
        return Defect("settings", choice, field="offline_policy_days"), tags
    if choice == "id_type":
        tags.add(AMB_ID_TYPE)
        p["id"] = rng.choice([7, True, ["sales"], {"name": "sales"}])
        return Defect("settings", choice, field="id"), tags
    raise AssertionError(choice)


def gen_invalid_settings(rng: random.Random, ambiguous=False) -> Case:
    for _ in range(100):
        s = gen_settings(rng)
        kind = s["project"]["kind"]
        res = _settings_defects(rng, s, ambiguous)
        if res[1] and not ambiguous:
            continue
        defect, tags = res[0], res[1]
        if len(res) == 3:
            st = res[2]
        else:
            st = dumps_settings(rng, s)
        # events: usually valid, sometimes also broken (settings errors come first)
        etags: set = set()
        evs = gen_event_dicts(rng, kind)
        text, _ = render_events(rng, evs, ambiguous, etags)
        if rng.random() < 0.1:
            text = text + "{not json\n"
        return Case(st, text, False, defect, tags | etags)
    raise RuntimeError("could not generate an invalid settings case")


# --------------------------------------------------------------------------- invalid events


def _event_defect(rng: random.Random, evs: list, ambiguous: bool):
    """Return (index_in_evs, replacement_line_text_or_None, Defect-without-line, tags).
    May mutate evs (the dicts) to carry the defect; if a replacement text is given the
    line is written verbatim."""
    tags: set = set()
    i = rng.randrange(len(evs))
    e = evs[i]
    kinds = [
        "bad_json",
        "not_object",
        "unknown_field",
        "missing_t",
        "missing_event",
        "missing_extra",
        "t_type",
        "t_negative",
        "decreasing",
        "bad_event",
        "bad_direction",
        "bad_consent",
        "bad_order_id",
        "bad_party",
    ]
    if ambiguous:
        kinds.append("foreign_field")
    k = rng.choice(kinds)
    if k == "bad_json":
        good = json.dumps(e)
        txt = rng.choice([good[:-1], good + "}", good.replace('"event"', "event", 1), "{", "}",
                          good.replace(":", "=", 1), "{'t_ms': 1}", good + " " + good])
        return i, txt, Defect("events", k), tags
    if k == "not_object":
        txt = rng.choice(["[]", json.dumps([e]), "null", "42", '"pause"', "true"])
        return i, txt, Defect("events", k), tags
    if k == "unknown_field":
        f = rng.choice(["foo", "T_ms", "time", "Event", "reason", "comment"])
        e[f] = rng.choice([1, "x", None, True])
        return i, None, Defect("events", k, field=f), tags
    if k == "foreign_field":
        tags.add(AMB_FOREIGN_FIELD)
        mine = set(EVENT_EXTRA.get(e["event"], []))
        f = rng.choice([x for x in ("direction", "consent", "order_id", "party") if x not in mine])
        e[f] = {"direction": "inbound", "consent": "granted", "order_id": "A-1", "party": "p9"}[f]
        return i, None, Defect("events", k, field=f), tags
    if k == "missing_t":
        del e["t_ms"]
        return i, None, Defect("events", k, field="t_ms"), tags
    if k == "missing_event":
        del e["event"]
        return i, None, Defect("events", k, field="event"), tags
    if k == "missing_extra":
        if e["event"] not in EVENT_EXTRA:
            name = rng.choice(sorted(EVENT_EXTRA))
            t = e["t_ms"]
            e.clear()
            e.update({"t_ms": t, "event": name})
            e.update({"direction": "inbound", "consent": "not_asked"} if name == "call_started"
                     else {"order_id": "A-1"} if name == "receipt_start" else {"party": "p2"})
        f = rng.choice(EVENT_EXTRA[e["event"]])
        del e[f]
        return i, None, Defect("events", k, field=f), tags
    if k == "t_type":
        t = e["t_ms"]
        form = rng.choice(["float", "exp", "string", "bool", "null", "list"])
        if form in ("float", "exp"):
            # written verbatim so that the number keeps its float syntax
            e2 = dict(e)
            e2["t_ms"] = "__T__"
            txt = json.dumps(e2).replace('"__T__"', f"{t}.0" if form == "float" else f"{t}e0")
            if form == "exp" and rng.random() < 0.5 and t % 1000 == 0 and t > 0:
                txt = json.dumps(e2).replace('"__T__"', f"{t // 1000}e3")
            return i, txt, Defect("events", k, field="t_ms"), tags
        e["t_ms"] = {"string": str(t), "bool": True, "null": None, "list": [t]}[form]
        return i, None, Defect("events", k, field="t_ms"), tags
    if k == "t_negative":
        e["t_ms"] = -rng.randint(1, 1000)
        # keep it the first non-decreasing violation: negative anywhere is already invalid
        return i, None, Defect("events", k, field="t_ms"), tags
    if k == "decreasing":
        if len(evs) < 2:
            # make a second event at an earlier time
            evs.append(dict(evs[0]))
            i = 1
            evs[0]["t_ms"] = evs[1]["t_ms"] + rng.randint(1, 100)
            return i, None, Defect("events", k, field="t_ms"), tags
        i = rng.randrange(1, len(evs))
        evs[i - 1]["t_ms"] = evs[i]["t_ms"] + rng.randint(1, 5000)
        return i, None, Defect("events", k, field="t_ms"), tags
    if k == "bad_event":
        e["event"] = rng.choice(["Pause", "call_start", "", "hold", "customerOn", "call_ended ", 5, None])
        return i, None, Defect("events", k, field="event", values=list(EVENT_NAMES)), tags
    if k in ("bad_direction", "bad_consent"):
        f = "direction" if k == "bad_direction" else "consent"
        if e["event"] != "call_started":
            t = e["t_ms"]
            e.clear()
            e.update({"t_ms": t, "event": "call_started", "direction": "outbound", "consent": "granted"})
        if f == "direction":
            e[f] = rng.choice(["in", "INBOUND", "incoming", "", None, 1])
            vals = list(DIRECTIONS)
        else:
            e[f] = rng.choice(["yes", "denied", "Declined", "", None, True, "not asked"])
            vals = list(CONSENTS)
        return i, None, Defect("events", k, field=f, values=vals), tags
    if k in ("bad_order_id", "bad_party"):
        if k == "bad_order_id":
            f, name = "order_id", "receipt_start"
        else:
            f, name = "party", rng.choice(["party_joined", "party_left"])
        if e["event"] != name:
            t = e["t_ms"]
            e.clear()
            e.update({"t_ms": t, "event": name})
        e[f] = rng.choice(["", 17, None, ["A"], {}, False])
        return i, None, Defect("events", k, field=f), tags
    raise AssertionError(k)


def gen_invalid_events(rng: random.Random, ambiguous=False) -> Case:
    s = gen_settings(rng)
    kind = s["project"]["kind"]
    evs = gen_event_dicts(rng, kind)
    if not evs:
        evs = [_call_started(rng, rng.randint(0, 100))]
    i, txt, defect, tags = _event_defect(rng, evs, ambiguous)
    etags: set = set()
    text, line_of = render_events(rng, evs, ambiguous, etags)
    lines = text.split("\n")
    if txt is not None:
        lines[line_of[i]] = txt
    text = "\n".join(lines)
    defect.line = line_of[i] + 1
    return Case(dumps_settings(rng, s), text, False, defect, tags | etags)


# --------------------------------------------------------------------------- entry


def gen_case(rng: random.Random, ambiguous=False, only: str | None = None) -> Case:
    if only == "valid":
        return gen_valid(rng, ambiguous)
    if only == "invalid":
        r = rng.random() * 0.25 + 0.75
    else:
        r = rng.random()
    if r < 0.75:
        return gen_valid(rng, ambiguous)
    if r < 0.87:
        return gen_invalid_settings(rng, ambiguous)
    return gen_invalid_events(rng, ambiguous)


if __name__ == "__main__":
    import sys

    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    c = gen_case(rng)
    print("valid:", c.valid, "defect:", c.defect, "tags:", c.tags)
    print(c.settings_text)
    print(c.events_text)
