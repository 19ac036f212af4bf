import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

// The reflection protocol as published (shipped with @grpc/reflection): what grpcurl and other tools speak.
const reflectionProto = join(
  dirname(createRequire(import.meta.url).resolve("@grpc/reflection")),
  "..",
  "proto",
  "grpc",
  "reflection",
  "v1",
  "reflection.proto",
);

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

let fx: MeshFixture;
before(async () => {
  fx = await startMeshFixture();
});
after(async () => {
  await fx?.close();
});

async function ask(address: string, requests: object[]): Promise<ReflectionResponse[]> {
  const def = protoLoader.loadSync(reflectionProto, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const out: ReflectionResponse[] = [];
      const call = (
        client as unknown as { serverReflectionInfo(o: object): grpc.ClientDuplexStream<object, ReflectionResponse> }
      ).serverReflectionInfo({
        deadline: Date.now() + 5000,
      });
      call.on("data", (r: ReflectionResponse) => out.push(r));
      call.on("error", reject);
      call.on("end", () => resolve(out));
      for (const r of requests) call.write(r);
      call.end();
    });
  } finally {
    client.close();
  }
}

test("the edge's server reflection lists the scoring API and serves its descriptors (what grpcurl uses)", async () => {
  const [list, byService, bySymbol] = await ask(fx.mesh.env["VALIDATOR_GRPC_ADDR"]!, [
    { listServices: "" },
    { fileContainingSymbol: "scoremesh.scoring.v1.ScoringService" },
    { fileContainingSymbol: "scoremesh.scoring.v1.ScoreRequest" },
  ]);
  assert.deepEqual(
    list?.listServicesResponse?.service.map((s) => s.name),
    ["scoremesh.scoring.v1.ScoringService"],
  );
  const files = byService!.fileDescriptorResponse!.fileDescriptorProto.map((b) =>
    fromBinary(FileDescriptorProtoSchema, b),
  );
  const scoring = files.find((f) => f.name === "scoremesh/scoring/v1/scoring.proto");
  assert.ok(scoring, "the file that defines the service");
  assert.deepEqual(
    scoring.service[0]?.method.map((m) => m.name),
    ["Score", "ScoreBatch", "ReportOutcome", "GetDecisionRecord"],
  );
  assert.ok(
    files.some((f) => f.name === "google/protobuf/struct.proto"),
    "with its dependency, so a tool can decode inputs",
  );
  assert.equal(bySymbol!.fileDescriptorResponse!.fileDescriptorProto.length > 0, true);
});
