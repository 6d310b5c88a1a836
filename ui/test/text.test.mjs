// Unit tests of the window's wording logic (built from src/text.ts by `npm test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { esc, sideWhy, warningText, formatTimer } from "../.test/text.mjs";

test("escapes everything the engine or the agent typed", () => {
  assert.equal(esc(`<img src=x onerror="alert(1)">&'`), "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;");
  assert.equal(esc(null), "");
});

test("every side reason has words an agent understands", () => {
  const reasons = ["recorded", "no_call", "project_records_nothing", "stopped_by_conference", "discarded_by_conference",
    "paused", "consent_declined", "forbidden_by_project", "switched_off", "receipt_without_customer",
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
