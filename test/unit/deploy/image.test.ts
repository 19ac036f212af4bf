import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { MESH, MOUNTS } from "../../../deploy/k8s/mesh-spec.js";
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

/** A COPY line's flags (`--from=build` gives from "build"), its sources and its destination. */
interface Copy {
  flags: Record<string, string>;
  sources: string[];
  dest: string;
}

function copyOf(line: string): Copy {
  const words = line.split(/\s+/).slice(1);
  const flags = Object.fromEntries(
    words.filter((w) => w.startsWith("--")).map((w) => w.slice(2).split("=") as [string, string]),
  );
  const paths = words.filter((w) => !w.startsWith("--"));
  return { flags, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

const copies = (s: Stage): Copy[] => s.lines.filter((l) => /^COPY\s/.test(l)).map(copyOf);

const ignored = readFileSync(join(PROJECT_ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"));

/** The stages that end up in a shipped image: the last one and the named targets it documents. */
const shipped = () => stages().filter((s) => ["runtime", "cuda"].includes(s.name) || s === stages().at(-1));

test("every file copied from the build context exists and is not excluded by .dockerignore", () => {
  const fromContext = stages().flatMap((s) => copies(s).filter((c) => c.flags["from"] === undefined));
  assert.ok(fromContext.length >= 5, `${fromContext.length} COPY lines`);
  for (const { sources } of fromContext) {
    for (const src of sources) {
      assert.ok(existsSync(join(PROJECT_ROOT, src)), `COPY ${src} does not exist`);
      assert.ok(!ignored.includes(src.replace(/\/$/, "")), `COPY ${src} is in .dockerignore`);
    }
  }
});

test("every file copied from the build stage is one the build makes, and every entrypoint exists in dist/", () => {
  const fromBuild = stages().flatMap((s) => copies(s).filter((c) => c.flags["from"]?.startsWith("build")));
  assert.ok(fromBuild.length >= 5, `${fromBuild.length} COPY --from=build lines`);
  for (const { sources } of fromBuild) {
    const src = sources[0]!;
    // node itself, from the base image; the audit spool's folder, made by the build stage (its own test below)
    if (!src.startsWith("/src/")) continue;
    const local = src.slice("/src/".length);
    if (local === "node_modules") continue;
    assert.ok(existsSync(join(PROJECT_ROOT, local)), `COPY ${src}: ${local} is not built by npm run build`);
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
    const copied = copies(s)
      .filter((c) => c.flags["from"] !== undefined)
      .map((c) => c.dest);
    assert.ok(
      copied.some((dest) => script.startsWith(`${dest.replace(/^\.\//, "")}/`)),
      `${s.name}: ${script} is not copied (${copied.join(", ")})`,
    );
  }
});

test("the runtime image has the audit spool's folder, owned by its user, for a named volume to start from", () => {
  const runtime = stages().find((s) => s.name === "runtime")!;
  const user = runtime.lines
    .filter((l) => l.startsWith("USER"))
    .at(-1)!
    .split(/\s+/)[1]!;
  // The copy that makes the spool's mount point (or a folder above it) in the runtime stage.
  const copy = copies(runtime).find((c) => MOUNTS.spool === c.dest || MOUNTS.spool.startsWith(`${c.dest}/`));
  assert.ok(copy, `the runtime stage makes no ${MOUNTS.spool}`);
  assert.equal(copy.flags["chown"], user, `${MOUNTS.spool} is not owned by USER ${user}`);
  assert.equal(copy.flags["from"], "build");
  // Copying a folder copies its contents: the spool folder itself is one of them, made by the build stage.
  const made = `${copy.sources[0]}${MOUNTS.spool.slice(copy.dest.length)}`;
  assert.notEqual(
    made,
    copy.sources[0],
    "the spool folder itself must be inside the copied folder (it gets the owner)",
  );
  const build = stages().find((s) => s.name === "build")!;
  const mkdir = build.lines.find((l) => /^RUN\s+mkdir\s/.test(l) && l.split(/\s+/).includes(made));
  assert.ok(mkdir, `the build stage does not make ${made}`);
  assert.match(mkdir, /-m 0?700\b/, "the spool folder is its user's alone");
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
