import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { GRPCInferenceService, type InferTensorContentsSchema } from "../../gen/inference/grpc_predict_v2_pb.js";
import type { ModelRegistry, OutputTensor } from "./model-registry.js";
import { batchErrorToRpc, QueueFullError } from "../lib/batching/index.js";
import { readFloatMatrix } from "./tensors.js";
import { retryInfo } from "../lib/rpc/index.js";
import { LABEL_EXTENSION } from "../lib/nats/index.js";

export const SERVER_NAME = "scoremesh-model-worker";
export const SERVER_VERSION = "0.1.0";

/** The OIP v2 extensions this server implements (Triton's names). */
const EXTENSIONS = ["statistics"];

/** The KServe Open Inference Protocol v2 over the worker's model registry. */
export function inferenceRoutes(
  registry: ModelRegistry,
  isReady: () => boolean,
  onQueueFull: () => void = () => undefined,
  labels: () => readonly string[] = () => [],
): Partial<ServiceImpl<typeof GRPCInferenceService>> {
  return {
    serverLive: () => ({ live: true }),
    serverReady: () => ({ ready: isReady() }),
    modelReady: (req) => ({ ready: registry.isReady(req.name, req.version) }),
    serverMetadata: () => ({
      name: SERVER_NAME,
      version: SERVER_VERSION,
      // Besides the extensions, where inference runs: "execution_provider:cpu", and for each provider that
      // could not load, "execution_provider_fallback:cuda" (the reason is in the worker's log); and each of its
      // pool labels, "worker_label:gpu" (routers read them: docs/rollouts.md#worker-pools).
      extensions: [
        ...EXTENSIONS,
        ...registry.providersInUse().map((p) => `execution_provider:${p}`),
        ...[...registry.providerFallbacks.keys()].map((p) => `execution_provider_fallback:${p}`),
        ...labels().map((l) => `${LABEL_EXTENSION}${l}`),
      ],
    }),
    modelMetadata(req) {
      const lv = registry.resolve(req.name, req.version);
      return {
        name: lv.model,
        versions: registry
          .served()
          .filter((x) => x.model === lv.model)
          .map((x) => x.version)
          .sort((a, b) => Number(a) - Number(b)),
        platform: "onnxruntime_onnx",
        inputs: lv.card.onnx.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
        outputs: lv.card.onnx.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
      };
    },
    modelStatistics(req) {
      const all = registry
        .list()
        .filter((lv) => (!req.name || lv.model === req.name) && (!req.version || lv.version === req.version))
        .sort((a, b) => a.model.localeCompare(b.model) || Number(a.version) - Number(b.version));
      if (req.name && all.length === 0) {
        throw new ConnectError(
          `model ${JSON.stringify(req.name)}${req.version ? ` version ${JSON.stringify(req.version)}` : ""} is not served here`,
          Code.NotFound,
        );
      }
      return { modelStats: all.map((lv) => lv.stats.toProto(lv.model, lv.version)) };
    },
    async modelInfer(req, ctx) {
      const lv = await registry.resolveForCall(req.modelName, req.modelVersion);
      if (!lv.ready) throw new ConnectError(`model ${lv.model} version ${lv.version} is not ready`, Code.Unavailable);
      if (req.inputs.length !== 1) {
        throw new ConnectError(
          `model ${lv.model} takes 1 input (${lv.inputName}), got ${req.inputs.length}`,
          Code.InvalidArgument,
        );
      }
      const input = req.inputs[0]!;
      if (input.name !== lv.inputName) {
        throw new ConnectError(
          `unknown input ${JSON.stringify(input.name)}; the model's input is ${lv.inputName}`,
          Code.InvalidArgument,
        );
      }
      const useRaw = req.rawInputContents.length > 0;
      if (useRaw && req.rawInputContents.length !== req.inputs.length) {
        throw new ConnectError("raw_input_contents must have one entry per input", Code.InvalidArgument);
      }
      // Requested outputs, in the order asked; none asked: every output of the model.
      const wanted = req.outputs.map((o) => o.name);
      for (const name of wanted) {
        if (!lv.outputNames.includes(name)) {
          throw new ConnectError(
            `unknown output ${JSON.stringify(name)}; the model's outputs are ${lv.outputNames.join(", ")}`,
            Code.InvalidArgument,
          );
        }
      }
      const { data, rows } = readFloatMatrix(input, useRaw ? req.rawInputContents[0] : undefined, lv.cols);
      if (ctx.signal.aborted) throw new ConnectError("the caller has gone", Code.Canceled);
      const remaining = ctx.timeoutMs();
      let outputs: OutputTensor[];
      try {
        outputs = await registry.infer(lv, data, rows, {
          deadline: remaining === undefined ? undefined : performance.now() + remaining,
          signal: ctx.signal,
        });
      } catch (err) {
        if (err instanceof QueueFullError) onQueueFull();
        // A full queue is RESOURCE_EXHAUSTED with a google.rpc.RetryInfo.
        throw ConnectError.from(
          batchErrorToRpc(err, `model ${lv.model} version ${lv.version} is overloaded`, retryInfo),
        );
      }
      const chosen = wanted.length ? wanted.map((n) => outputs.find((o) => o.name === n)!) : outputs;
      return {
        modelName: lv.model,
        modelVersion: lv.version,
        id: req.id,
        // Raw outputs when the request used raw inputs (as Triton does), typed contents otherwise.
        outputs: chosen.map((o) => ({
          name: o.name,
          datatype: o.datatype,
          shape: [BigInt(rows), BigInt(o.width)],
          contents: useRaw ? undefined : typedContents(o),
        })),
        rawOutputContents: useRaw
          ? chosen.map((o) => new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength))
          : [],
      };
    },
  };
}

function typedContents(o: OutputTensor): MessageInitShape<typeof InferTensorContentsSchema> {
  switch (o.datatype) {
    case "FP32":
      return { fp32Contents: Array.from(o.data as Float32Array) };
    case "FP64":
      return { fp64Contents: Array.from(o.data as Float64Array) };
    case "INT32":
      return { intContents: Array.from(o.data as Int32Array) };
    default:
      return { int64Contents: Array.from(o.data as BigInt64Array) };
  }
}
