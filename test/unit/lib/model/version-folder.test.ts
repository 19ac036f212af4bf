import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../../deploy/local/mesh.js";
import {
  cardProblems,
  compareWithExisting,
  folderFiles,
  ModelRepository,
  readVersionFolder,
  sha256Hex,
  VersionFolderError,
} from "../../../../services/lib/model/index.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec(MODEL);
const shipped = join(PROJECT_ROOT, "models", MODEL, "4");

/** A copy of shipped version 4 as `version`, its card changed by `edit`; removed after `fn`. */
function withCopy(version: string, edit: (card: Record<string, unknown>) => void, fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-version-folder-"));
  try {
    cpSync(shipped, dir, { recursive: true });
    const card = JSON.parse(readFileSync(join(dir, "card.json"), "utf8")) as Record<string, unknown>;
    card["version"] = version;
    edit(card);
    writeFileSync(join(dir, "card.json"), JSON.stringify(card));
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const refused = (fn: () => unknown, reason: RegExp) =>
  assert.throws(fn, (err: Error) => err instanceof VersionFolderError && reason.test(err.message));

test("a copy of a shipped version under a new number reads with its card and digests", () => {
  withCopy(
    "5",
    () => {},
    (dir) => {
      const v = readVersionFolder(dir, MODEL, spec);
      assert.equal(v.card.version, "5");
      assert.deepEqual(
        v.files.map((f) => f.name),
        ["card.json", "model.onnx"],
      );
      assert.equal(v.files[1]!.sha256, sha256Hex(readFileSync(join(shipped, "model.onnx"))));
    },
  );
});

test("refused with the reason: incomplete folder, not JSON, malformed fields, another spec, a checksum that differs", () => {
  withCopy(
    "5",
    () => {},
    (dir) => {
      rmSync(join(dir, "model.onnx"));
      refused(() => readVersionFolder(dir, MODEL, spec), /incomplete version folder .*: no model\.onnx/);
    },
  );
  withCopy(
    "5",
    () => {},
    (dir) => {
      writeFileSync(join(dir, "card.json"), "{ not json");
      refused(() => readVersionFolder(dir, MODEL, spec), /card\.json is not JSON/);
    },
  );
  withCopy(
    "5",
    (c) => (c["feature_spec_hash"] = "sha256:0000000000000000"),
    (dir) =>
      refused(
        () => readVersionFolder(dir, MODEL, spec),
        /trained with feature spec sha256:0000000000000000, but the spec in use is/,
      ),
  );
  withCopy(
    "5",
    () => {},
    (dir) => {
      writeFileSync(join(dir, "SHA256SUMS"), `${"a".repeat(64)}  model.onnx\n`);
      refused(
        () => readVersionFolder(dir, MODEL, spec),
        /corrupt model\.onnx: its sha256 is [0-9a-f]{64}, SHA256SUMS says a{64}/,
      );
    },
  );
  withCopy(
    "5",
    () => {},
    (dir) => {
      const sum = sha256Hex(readFileSync(join(dir, "model.onnx")));
      writeFileSync(join(dir, "SHA256SUMS"), `${sum}  model.onnx\n`);
      assert.equal(readVersionFolder(dir, MODEL, spec).card.version, "5", "a matching SHA256SUMS passes");
    },
  );
});

test("cardProblems names each bad field", () => {
  const good = JSON.parse(readFileSync(join(shipped, "card.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(cardProblems(good, MODEL, spec), []);
  assert.deepEqual(cardProblems([], MODEL, spec), ["card.json must be a JSON object"]);
  const bad = { ...good, model: "late-payment", version: "05", thresholds: { review: 0.7, decline: 0.2 } };
  const p = cardProblems(bad, MODEL, spec).join("\n");
  assert.match(p, /model is "late-payment", expected "credit-default"/);
  assert.match(p, /version must be a positive integer as text, got "05"/);
  assert.match(p, /thresholds must be 0 <= review <= decline <= 1/);
  const onnx = {
    ...(good["onnx"] as object),
    score_output: "nope",
    inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }],
  };
  const q = cardProblems({ ...good, onnx }, MODEL, spec).join("\n");
  assert.match(q, /onnx\.inputs\[0\]\.shape must be \[-1, 31\]/);
  assert.match(q, /onnx\.score_output "nope" is not among onnx\.outputs/);
  assert.match(
    cardProblems({ ...good, feature_spec_hash: undefined }, MODEL, spec).join(),
    /feature_spec_hash is missing/,
  );
});

test("compareWithExisting: new, the same bytes, or refused when the number is taken by other bytes", () => {
  withCopy(
    "4",
    () => {},
    (dir) => {
      const v = readVersionFolder(dir, MODEL, spec);
      assert.equal(compareWithExisting(v, undefined, "the store"), "new");
      const card = readFileSync(join(dir, "card.json"));
      const same = [
        { name: "card.json", sha256: sha256Hex(card), size: card.length },
        ...folderFiles(shipped).filter((f) => f.name === "model.onnx"),
      ];
      assert.equal(compareWithExisting(v, same, "the store"), "same");
      const other = compareWithExisting(v, folderFiles(shipped), "the model repository");
      assert.deepEqual(other, {
        refused:
          "credit-default version 4 already exists in the model repository with other bytes (card.json differs): publish it under a new version number",
      });
    },
  );
});

test("ModelRepository reads published versions from its cache folders, the shipped ones first", () => {
  const cache = mkdtempSync(join(tmpdir(), "scoremesh-cache-"));
  try {
    cpSync(shipped, join(cache, MODEL, "7"), { recursive: true });
    cpSync(shipped, join(cache, MODEL, "3"), { recursive: true });
    const layered = new ModelRepository(join(PROJECT_ROOT, "models"), [cache]);
    assert.deepEqual(layered.versions(MODEL), ["1", "2", "3", "4", "5", "7"]);
    assert.deepEqual(layered.models(), repo.models(), "families come from the repository only");
    assert.equal(layered.folder(MODEL, "7"), join(cache, MODEL, "7"));
    assert.equal(layered.folder(MODEL, "3"), join(PROJECT_ROOT, "models", MODEL, "3"), "the shipped version wins");
    assert.equal(layered.shipped(MODEL, "7"), false);
    assert.equal(layered.onnxPath(MODEL, "7"), join(cache, MODEL, "7", "model.onnx"));
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
