import { test } from "node:test";
import assert from "node:assert/strict";
import { createWithFallback, providerList } from "../../../services/model-worker/execution-providers.js";

test("execution providers: auto picks CUDA only where it is installed; CPU always closes the list", () => {
  assert.deepEqual(providerList("auto", false), ["cpu"]);
  assert.deepEqual(providerList("auto", true), ["cuda", "cpu"]);
  assert.deepEqual(providerList("cuda", false), ["cuda", "cpu"]);
  assert.deepEqual(providerList("cpu,cuda", true), ["cpu", "cuda"]);
});

test("a provider that cannot load falls back to the next, and says why", async () => {
  const choice = await createWithFallback(["cuda", "cpu"], async (p) => {
    if (p === "cuda") throw new Error("Failed to load shared library\nmore detail");
    return `session on ${p}`;
  });
  assert.equal(choice.provider, "cpu");
  assert.equal(choice.session, "session on cpu");
  assert.deepEqual(choice.fallbacks, [{ provider: "cuda", error: "Failed to load shared library" }]);
  await assert.rejects(
    createWithFallback(["cpu"], async () => Promise.reject(new Error("bad model"))),
    /no execution provider could load the model \(cpu: bad model\)/,
  );
});
