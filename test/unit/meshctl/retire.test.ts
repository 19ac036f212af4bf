import { test } from "node:test";
import assert from "node:assert/strict";
import { retireProblem } from "../../../tools/meshctl/retire.js";
import { parseModelObject } from "../../../services/lib/nats/index.js";

const policy = {
  championVersion: "3",
  canary: { version: "5", percent: 20 },
  shadow: { version: "4", sampleRate: 0.1 },
};

test("retire is refused while the champion, canary, shadow or fallback is the version, with the reason", () => {
  assert.match(retireProblem("m", "3", policy as never, "1")!, /version 3 is the champion of m/);
  assert.match(retireProblem("m", "5", policy as never, "1")!, /version 5 is the canary of m/);
  assert.match(retireProblem("m", "4", policy as never, "1")!, /version 4 is the shadow of m/);
  assert.match(retireProblem("m", "1", policy as never, "1")!, /version 1 is the fallback/);
  assert.equal(retireProblem("m", "2", policy as never, "1"), undefined);
  assert.equal(retireProblem("m", "2", undefined, undefined), undefined, "a model without a policy");
});

test("the store's object names: manifests and retirements, nothing else", () => {
  assert.deepEqual(parseModelObject("versions/credit-default/5/manifest.json"), {
    kind: "manifest",
    model: "credit-default",
    version: "5",
  });
  assert.deepEqual(parseModelObject("retired/credit-default/2"), {
    kind: "retired",
    model: "credit-default",
    version: "2",
  });
  assert.equal(parseModelObject("versions/credit-default/5/model.onnx"), undefined);
  assert.equal(parseModelObject("versions/credit-default/05/manifest.json"), undefined);
});
