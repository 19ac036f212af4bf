import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { fileURLToPath } from "node:url";

/** The repository (this file runs from dist/test/unit/deploy/). */
const PROJECT_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

const DIR = join(PROJECT_ROOT, "deploy", "prometheus");
const KEYWORDS = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset", "group_left"]);
/** Series Prometheus makes itself, not the services. */
const BUILT_IN = new Set(["up"]);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
}

function rules(): Rule[] {
  const doc = parse(readFileSync(join(DIR, "alerts.yaml"), "utf8")) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords or labels. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  const names = [...bare.matchAll(/\b([A-Za-z_:][\w:]*)\b(?!\s*\()/g)].map((m) => m[1]!);
  return [...new Set(names.filter((n) => !KEYWORDS.has(n) && !/^\d/.test(n)))];
}

/** Every `name: "..."` a prom-client metric is registered with under services/. */
function registeredNames(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".ts"))
        for (const m of readFileSync(p, "utf8").matchAll(/\bname: "([a-z_:][a-z0-9_:]*)"/g)) out.add(m[1]!);
    }
  };
  walk(join(PROJECT_ROOT, "services"));
  return out;
}

test("every metric an alerting rule reads is one the services register (histograms by their base name)", () => {
  const registered = registeredNames();
  const all = rules();
  assert.ok(all.length >= 8, "the rules are there");
  for (const r of all) {
    const names = metricNames(r.expr);
    assert.ok(names.length > 0, `${r.alert}: reads no metric`);
    for (const n of names) {
      const base = n.replace(/_(bucket|sum|count)$/, "");
      assert.ok(
        BUILT_IN.has(n) || registered.has(n) || registered.has(base),
        `${r.alert}: ${n} is exported by no service`,
      );
    }
  }
  assert.deepEqual(metricNames('sum by (model, le) (rate(x_bucket{a="b"}[5m])) > 0.1 and y == 2'), ["x_bucket", "y"]);
});

test("promtool: the rules load (check rules) and fire where alerts.test.yaml says (test rules)", () => {
  const probe = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  if (probe.error) {
    // Like the cross-language test: fails, never skips (.ci/run installs Debian's prometheus package).
    assert.fail("promtool is missing: apt-get install prometheus");
  }
  const check = spawnSync("promtool", ["check", "rules", "alerts.yaml"], { cwd: DIR, encoding: "utf8" });
  assert.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`);
  assert.match(check.stdout, new RegExp(`SUCCESS: ${rules().length} rules found`));
  const run = spawnSync("promtool", ["test", "rules", "alerts.test.yaml"], { cwd: DIR, encoding: "utf8" });
  assert.equal(run.status, 0, `promtool test rules: ${run.stdout}${run.stderr}`);
});
