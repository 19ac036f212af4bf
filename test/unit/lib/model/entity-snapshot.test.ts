import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import {
  parseSnapshot,
  serializeSnapshot,
  snapshotFileName,
  SnapshotError,
  type EntityValues,
} from "../../../../services/lib/model/entity-snapshot.js";
import type { FeatureSpec } from "../../../../services/lib/model/feature-spec.js";
import { EntityStore } from "../../../../services/feature/entity-store.js";
import { FakeClock } from "../../../support/fake-clock.js";

const spec: FeatureSpec = {
  model: "m",
  description: "",
  inputs: [{ name: "a", type: "number", min: 0, max: 10, required: true, description: "" }],
  entity_features: [
    { name: "u", description: "utilization" },
    { name: "late", description: "late payments" },
  ],
  features: [
    { name: "a", source: { kind: "input", name: "a" }, transforms: [], default: 0 },
    { name: "u", source: { kind: "entity", name: "u" }, transforms: [], default: 0.5 },
    { name: "late", source: { kind: "entity", name: "late" }, transforms: [], default: 0 },
  ],
  segments: [],
};

function snapshotText(createdAt: string, entities: [string, EntityValues][], model = "m"): string {
  return serializeSnapshot({ model, created_at: createdAt, columns: spec.entity_features! }, entities);
}

/** A logger whose lines a test can read. */
function memoryLog(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "info" },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { log, lines };
}

describe("entity snapshot files", () => {
  test("serialize and parse round-trip; null reads as a missing value", () => {
    const text = snapshotText("2025-01-02T03:04:05Z", [
      ["C00001", { u: 0.25, late: 2 }],
      ["C00002", { u: undefined, late: 0 }],
    ]);
    const s = parseSnapshot(text, { source: "t", spec });
    assert.equal(s.header.rows, 2);
    assert.equal(s.header.created_at, "2025-01-02T03:04:05Z");
    assert.deepEqual(s.entities.get("C00001"), { u: 0.25, late: 2 });
    assert.deepEqual(s.entities.get("C00002"), { u: undefined, late: 0 });
    assert.match(text.split("\n")[2]!, /^\["C00002",null,0\]$/);
    assert.equal(snapshotFileName("2025-01-02T03:04:05Z"), "snapshot-20250102T030405Z.jsonl");
  });

  test("bad files are refused with the file and line", () => {
    const good = snapshotText("2025-01-02T00:00:00Z", [
      ["A", { u: 1, late: 0 }],
      ["B", { u: 2, late: 1 }],
    ]);
    const [header, a, b] = good.trimEnd().split("\n") as [string, string, string];
    const refuse = (text: string, pattern: RegExp) =>
      assert.throws(
        () => parseSnapshot(text, { source: "f.jsonl", spec }),
        (e: unknown) => e instanceof SnapshotError && pattern.test(e.message),
      );
    refuse("", /f\.jsonl:1: the header is not JSON/);
    refuse(`${header}\n${a}\n`, /1 entity lines, the header says 2 \(truncated\?\)/);
    refuse(`${header}\n${a}\n${a}\n`, /f\.jsonl:3: duplicate entity id A/);
    refuse(`${header}\n${a}\n["B",1]\n`, /f\.jsonl:3: must be an array of the entity id and 2 values/);
    refuse(`${header}\n${a}\n["B","x",1]\n`, /f\.jsonl:3: u is "x", not a finite number or null/);
    refuse(`${header}\n${a}\n["a b",1,1]\n`, /entity id "a b"/);
    refuse(`${header}\n${a}\n{oops\n`, /f\.jsonl:3: not JSON/);
    refuse(header.replace("v1", "v0") + `\n${a}\n${b}\n`, /format "scoremesh.entity-snapshot.v0"/);
    refuse(snapshotText("2025-01-02T00:00:00Z", [], "other"), /a snapshot of "other", not of "m"/);
    refuse(
      header.replace('"created_at":"2025-01-02T00:00:00Z"', '"created_at":"yesterday"') + `\n${a}\n${b}\n`,
      /created_at "yesterday"/,
    );
    const noLate = serializeSnapshot(
      { model: "m", created_at: "2025-01-02T00:00:00Z", columns: [{ name: "u", description: "" }] },
      [],
    );
    refuse(noLate, /no column late, which the feature spec reads/);
  });
});

describe("EntityStore", () => {
  const root = mkdtempSync(join(tmpdir(), "scoremesh-entities-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const freshDir = () => {
    const dir = join(root, String(n++));
    mkdirSync(dir);
    return dir;
  };
  const put = (dir: string, createdAt: string, entities: [string, EntityValues][]) => {
    const name = snapshotFileName(createdAt);
    // Written under another name, then renamed into place, as a batch job should.
    writeFileSync(join(dir, name + ".tmp"), snapshotText(createdAt, entities));
    renameSync(join(dir, name + ".tmp"), join(dir, name));
    return name;
  };

  test("loads the newest snapshot at start and reports its freshness", async () => {
    const dir = freshDir();
    put(dir, "2025-01-01T00:00:00Z", [["A", { u: 1, late: 0 }]]);
    const newest = put(dir, "2025-01-02T00:00:00Z", [
      ["A", { u: 2, late: 0 }],
      ["B", { u: 3, late: 1 }],
    ]);
    writeFileSync(join(dir, "snapshot-20990101T000000Z.jsonl.tmp"), "half a fi");
    writeFileSync(join(dir, "README"), "not a snapshot");
    const clock = new FakeClock();
    clock.t = Date.parse("2025-01-02T01:00:00Z");
    const { log, lines } = memoryLog();
    const store = new EntityStore({ dir, spec, log, clock });
    assert.equal(await store.load(), true);
    assert.deepEqual(store.get("A"), { u: 2, late: 0 });
    assert.equal(store.get("nobody"), undefined);
    assert.equal(store.get(""), undefined);
    assert.deepEqual(store.freshness(), {
      model: "m",
      file: newest,
      entities: 2,
      created_at: "2025-01-02T00:00:00Z",
      age_s: 3600,
      loaded_at: "2025-01-02T01:00:00.000Z",
    });
    assert.ok(lines.some((l) => l["msg"] === "entity snapshot loaded" && l["entities"] === 2 && l["age_s"] === 3600));
  });

  test("a broken newest file at start is logged and an older one used; no file at all imputes", async () => {
    const dir = freshDir();
    const older = put(dir, "2025-01-01T00:00:00Z", [["A", { u: 1, late: 0 }]]);
    writeFileSync(
      join(dir, snapshotFileName("2025-01-03T00:00:00Z")),
      snapshotText("2025-01-03T00:00:00Z", [["A", { u: 9, late: 9 }]]).slice(0, -10),
    );
    const { log, lines } = memoryLog();
    const store = new EntityStore({ dir, spec, log });
    assert.equal(await store.load(), true);
    assert.equal(store.freshness()?.file, older);
    assert.ok(lines.some((l) => l["msg"] === "entity snapshot refused; keeping the one in use" && l["level"] === 50));

    const empty = new EntityStore({ dir: join(root, "does-not-exist"), spec, log });
    assert.equal(await empty.load(), false);
    assert.equal(empty.get("A"), undefined);
    assert.equal(empty.freshness(), undefined);
  });

  test("refresh swaps in a newer snapshot whole, ignores older and broken ones, and retries a broken file once it changes", async () => {
    const dir = freshDir();
    put(dir, "2025-01-02T00:00:00Z", [["A", { u: 1, late: 0 }]]);
    const { log, lines } = memoryLog();
    const store = new EntityStore({ dir, spec, log });
    await store.load();
    assert.equal(await store.refresh(), false, "nothing new");

    put(dir, "2025-01-01T00:00:00Z", [["A", { u: 7, late: 7 }]]);
    assert.equal(await store.refresh(), false, "an older file is not newer");
    assert.deepEqual(store.get("A"), { u: 1, late: 0 });

    const held = store.snapshot();
    const brokenName = snapshotFileName("2025-01-03T00:00:00Z");
    writeFileSync(join(dir, brokenName), '{"format":"scoremesh.entity-snapshot.v1"');
    assert.equal(await store.refresh(), false, "a broken file is refused");
    assert.equal(store.snapshot(), held, "the snapshot in use stays");
    const refusals = () => lines.filter((l) => l["msg"] === "entity snapshot refused; keeping the one in use").length;
    assert.equal(refusals(), 1);
    assert.equal(await store.refresh(), false);
    assert.equal(refusals(), 1, "the same broken file is not read again");

    // The writer finishes the file in place: it changed, so it is read again.
    writeFileSync(
      join(dir, brokenName),
      snapshotText("2025-01-03T00:00:00Z", [
        ["A", { u: 3, late: 1 }],
        ["B", { u: 0, late: 0 }],
      ]),
    );
    assert.equal(await store.refresh(), true);
    assert.deepEqual(store.get("A"), { u: 3, late: 1 });
    assert.equal(store.freshness()?.entities, 2);
    assert.notEqual(store.snapshot(), held);
    assert.deepEqual(
      held?.entities.get("A"),
      { u: 1, late: 0 },
      "a lookup holding the old snapshot still sees it whole",
    );
  });

  test("files over the size limit are refused without being read", async () => {
    const dir = freshDir();
    put(dir, "2025-01-02T00:00:00Z", [
      ["A", { u: 1, late: 0 }],
      ["B", { u: 1, late: 0 }],
    ]);
    const { log, lines } = memoryLog();
    const store = new EntityStore({ dir, spec, log, maxBytes: 50 });
    assert.equal(await store.load(), false);
    assert.ok(lines.some((l) => /more than the 50 allowed/.test(String(l["err"]))));
  });

  test("poll() picks a new file up without being asked", async () => {
    const dir = freshDir();
    put(dir, "2025-01-02T00:00:00Z", [["A", { u: 1, late: 0 }]]);
    const store = new EntityStore({ dir, spec, log: memoryLog().log });
    await store.load();
    store.poll(20);
    try {
      put(dir, "2025-01-04T00:00:00Z", [["A", { u: 4, late: 0 }]]);
      for (let i = 0; i < 100 && store.get("A")?.["u"] !== 4; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(store.get("A"), { u: 4, late: 0 });
    } finally {
      store.close();
    }
  });
});
