import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { MESH } from "../../../deploy/k8s/mesh-spec.js";
import { BOOTSTRAP_ARGS } from "../../../deploy/k8s/bootstrap-job.js";

/**
 * What can be checked of deploy/image/Dockerfile without a Docker engine: every file it copies from the build
 * context exists and is not ignored, every file it copies from the build stage is one `npm run build` makes,
 * the commands it names exist, and the images it ships run as a non-root user with nothing but the runtime.
 */
interface Stage {
  name: string;
  from: string;
  lines: string[];
}

function stages(): Stage[] {
  const text = readFileSync(join(PROJECT_ROOT, "deploy", "image", "Dockerfile"), "utf8");
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const out: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ from: from[1]!, name: from[2] ?? `#${out.length}`, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const ignored = readFileSync(join(PROJECT_ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"));

/** The stages that end up in a shipped image: the last one and the named targets it documents. */
const shipped = () => stages().filter((s) => ["runtime", "cuda"].includes(s.name) || s === stages().at(-1));

test("every file copied from the build context exists and is not excluded by .dockerignore", () => {
  const copies = stages().flatMap((s) => s.lines.filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l)));
  assert.ok(copies.length >= 5, `${copies.length} COPY lines`);
  for (const line of copies) {
    const sources = line.split(/\s+/).slice(1, -1);
    for (const src of sources) {
      assert.ok(existsSync(join(PROJECT_ROOT, src)), `${line}: ${src} does not exist`);
      assert.ok(!ignored.includes(src.replace(/\/$/, "")), `${line}: ${src} is in .dockerignore`);
    }
  }
});

test("every file copied from the build stage is one the build makes, and every entrypoint exists in dist/", () => {
  const fromBuild = stages().flatMap((s) => s.lines.filter((l) => /^COPY\s+--from=build/.test(l)));
  for (const line of fromBuild) {
    const src = line.split(/\s+/)[2]!;
    if (!src.startsWith("/src/")) continue; // node itself, from the base image
    const local = src.slice("/src/".length);
    if (local === "node_modules") continue;
    assert.ok(existsSync(join(PROJECT_ROOT, local)), `${line}: ${local} is not built by npm run build`);
  }
  for (const s of shipped()) {
    const cmd = s.lines.find((l) => l.startsWith("CMD"));
    if (!cmd) continue;
    const script = (JSON.parse(cmd.slice(3).trim()) as string[])[0]!;
    assert.ok(existsSync(join(PROJECT_ROOT, script)), `${s.name}: CMD ${script} does not exist`);
  }
  for (const spec of MESH) {
    assert.ok(existsSync(join(PROJECT_ROOT, "dist", "services", spec.name, "main.js")), `${spec.name} entrypoint`);
  }
  // The Kubernetes bootstrap Job runs meshctl from the same image: built, and copied into every shipped image.
  const script = BOOTSTRAP_ARGS[0]!;
  assert.ok(existsSync(join(PROJECT_ROOT, script)), `the bootstrap Job's ${script} is not built`);
  for (const s of shipped().filter((s) => s.from !== "runtime")) {
    const copied = s.lines.filter((l) => /^COPY\s+--from=/.test(l)).map((l) => l.split(/\s+/)[3]!);
    assert.ok(
      copied.some((dest) => script.startsWith(`${dest.replace(/^\.\//, "")}/`)),
      `${s.name}: ${script} is not copied (${copied.join(", ")})`,
    );
  }
});

test("shipped images run as a non-root user and carry no build step of their own", () => {
  for (const s of shipped()) {
    if (s.from === "runtime") continue; // the default target is the runtime stage itself
    const user = s.lines.filter((l) => l.startsWith("USER")).at(-1);
    assert.ok(user, `${s.name}: no USER`);
    const id = user.split(/\s+/)[1]!.split(":")[0]!;
    assert.ok(id !== "root" && id !== "0", `${s.name}: USER ${id}`);
    assert.deepEqual(
      s.lines.filter((l) => l.startsWith("RUN")),
      [],
      `${s.name}: runs commands (build tools in the final image?)`,
    );
  }
});

test("the image's Node is the major version the project supports and CI runs", () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, "deploy", "image", "Dockerfile"), "utf8");
  const version = /ARG NODE_VERSION=(\d+)\./.exec(dockerfile)?.[1];
  assert.equal(version, process.versions.node.split(".")[0]);
  const engines = (
    JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { engines: { node: string } }
  ).engines.node;
  assert.match(engines, new RegExp(`\\^${version}\\.`), `engines.node ${engines}`);
});
