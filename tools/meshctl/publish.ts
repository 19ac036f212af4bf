import type { NatsConnection } from "nats";
import * as ort from "onnxruntime-node";
import {
  compareWithExisting,
  folderFiles,
  ModelRepository,
  readVersionFolder,
  VersionFolderError,
  type VersionFolder,
} from "../../services/lib/model/index.js";
import { MODEL_BUCKET, ModelStore, WorkerStore } from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** Files at least this large get progress lines on stderr while they upload. */
const PROGRESS_FROM_BYTES = 1 << 20;

/**
 * `meshctl publish MODEL DIR`: checks a version folder (card.json and model.onnx; SHA256SUMS when present; the
 * card's fields; its feature spec against the serving spec; the ONNX graph loads) and uploads it to the model
 * object store, from which every worker and router takes it without a restart. The version number is the card's.
 * Refused (exit 1, with the reason) when a check fails or the number is taken by other bytes or retired.
 * Waits up to `waitS` seconds for a model worker to report it ready (0: does not wait).
 */
export async function publish(target: MeshTarget, model: string, dir: string, waitS: number, out: Output) {
  const repo = new ModelRepository(target.repository());
  if (!repo.models().includes(model))
    throw new CliError(`refused: unknown model ${model} (repository ${repo.root} has: ${repo.models().join(", ")})`);
  const v = checkedFolder(dir, model, repo);
  await checkOnnx(v);
  const { version } = v.card;
  const shipped = repo.shipped(model, version)
    ? compareWithExisting(v, folderFiles(repo.folder(model, version)), `the model repository (${repo.root})`)
    : "new";
  if (typeof shipped === "object") throw new CliError(`refused: ${shipped.refused}`);
  const by = operatorName(target);
  const result = await withNats(target, async (nc) => {
    const store = (await ModelStore.open(nc, { create: true }))!;
    const retired = await store.retirement(model, version);
    if (retired)
      throw new CliError(
        `refused: ${model} version ${version} was retired by ${retired.retiredBy} at ${retired.retiredAt}; publish under a new version number`,
      );
    const existing = await store.manifest(model, version);
    const cmp =
      shipped === "same" ? "same" : compareWithExisting(v, existing?.files, `the model store (${MODEL_BUCKET})`);
    if (typeof cmp === "object") throw new CliError(`refused: ${cmp.refused}`);
    const manifest = existing ?? (shipped === "same" ? undefined : await store.publish(v, by, progress(out)));
    const readyOn = waitS > 0 ? await waitReady(nc, model, version, waitS) : [];
    return { status: cmp === "same" ? "unchanged" : "published", manifest, readyOn };
  });
  if (out.json) return printJson({ model, version, ...result });
  const what =
    result.status === "published"
      ? `published ${model} version ${version} to ${MODEL_BUCKET} (${v.files.map((f) => `${f.name} ${f.size} B sha256:${f.sha256.slice(0, 12)}`).join(", ")})`
      : `${model} version ${version} is already ${shipped === "same" ? "in the model repository" : "published"} with the same bytes: nothing to upload`;
  console.log(what);
  if (waitS > 0)
    console.log(
      result.readyOn.length
        ? `ready on ${result.readyOn.length} model worker(s): ${result.readyOn.join(", ")}; a policy may point to it now`
        : `no model worker reported it ready within ${waitS} s (meshctl status shows what they load)`,
    );
}

function checkedFolder(dir: string, model: string, repo: ModelRepository): VersionFolder {
  try {
    return readVersionFolder(dir, model, repo.spec(model));
  } catch (err) {
    if (err instanceof VersionFolderError) throw new CliError(`refused: ${err.message}`);
    throw err;
  }
}

/** The ONNX graph loads in ONNX Runtime and has the card's input and score output (a truncated file does not). */
async function checkOnnx(v: VersionFolder): Promise<void> {
  const bytes = v.files.find((f) => f.name === "model.onnx")!.bytes;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw new CliError(`refused: model.onnx does not load in ONNX Runtime (corrupt?): ${(err as Error).message}`);
  }
  const input = v.card.onnx.inputs[0]!.name;
  const missing = [input, v.card.onnx.score_output].filter(
    (n) => !session.inputNames.concat(session.outputNames).includes(n),
  );
  await session.release();
  if (missing.length) throw new CliError(`refused: model.onnx has no ${missing.join(", ")} (named by card.json onnx)`);
}

/** Progress lines on stderr for large files: every 10 %. */
function progress(out: Output) {
  const shown = new Map<string, number>();
  return (file: string, sent: number, size: number) => {
    if (size < PROGRESS_FROM_BYTES) return;
    const pct = Math.floor((sent / size) * 10) * 10;
    if ((shown.get(file) ?? -1) >= pct) return;
    shown.set(file, pct);
    console.error(out.json ? JSON.stringify({ file, sent, size }) : `uploading ${file}: ${pct} % of ${size} B`);
  };
}

/** The addresses of the model workers that report the version ready, once at least one does or after `waitS`. */
async function waitReady(nc: NatsConnection, model: string, version: string, waitS: number): Promise<string[]> {
  const workers = await WorkerStore.open(nc);
  const until = Date.now() + waitS * 1000;
  for (;;) {
    const ready = (await workers.list())
      .filter((w) => w.models.some((m) => m.model === model && m.version === version && m.ready))
      .map((w) => w.address);
    if (ready.length || Date.now() >= until) return ready;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The operator's name in the trusted-operators file (what policies record as `updated_by`), else "control". */
export function operatorName(target: MeshTarget): string {
  try {
    return target.trustedOperators().get(target.operatorSigner().publicKey) ?? "control";
  } catch {
    return "control";
  }
}
