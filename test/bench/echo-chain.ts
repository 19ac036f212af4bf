import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { devTlsEnv } from "../../deploy/local/dev-certs.js";
import { MeshCredentials } from "../../services/lib/rpc/index.js";
import { EnvReader, readTlsConfig } from "../../services/lib/service/index.js";
import { echoHandlers, echoService, forkEchoServer } from "./echo-service.js";
import { openLoop, quantile } from "./open-loop.js";

/**
 * A bare grpc-js echo chain: `depth` processes, each forwarding the request's bytes to the next and answering
 * with the next one's answer; the last echoes. Nothing else: no protobuf, no spans, no logging. With `mtls` every
 * hop runs mutual TLS with the mesh's development certificates (ECDSA P-256), as the mesh does. The floor under a
 * decision that crosses `depth` processes (test/bench/floor.ts); run alone it prints what the chain adds at
 * 50 calls/s: `node dist/test/bench/echo-chain.js [depth] [plaintext|mtls]`.
 */

export type ChainSecurity = "plaintext" | "mtls";

type EchoClient = grpc.Client & { Echo(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void };
const Client = grpc.makeGenericClientConstructor(echoService, "Echo");

function credentials(security: ChainSecurity, dir: string, who: "service" | "client"): MeshCredentials {
  if (security === "plaintext") return MeshCredentials.plaintext();
  const tls = devTlsEnv(dir, "mtls", ["echo"]);
  return readTlsConfig(new EnvReader(who === "service" ? { ...tls.env, ...tls.serviceEnv("echo") } : tls.env));
}

/** One echo client over `security` (the bench process's client certificate). */
export function echoClient(address: string, security: ChainSecurity, dir: string): EchoClient {
  return new Client(address, credentials(security, dir, "client").channel()) as unknown as EchoClient;
}

/** One call with `bytes` of payload. */
export function echoCall(client: EchoClient, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => client.Echo(bytes, (err) => (err ? reject(err) : resolve())));
}

export interface EchoChain {
  /** Addresses from the head (first hop) to the tail (the echo). */
  addresses: string[];
  pids: number[];
  stop(): void;
}

/** Starts the chain's processes, tail first, each dialling the next. `dir` holds the development certificates. */
export async function startEchoChain(depth: number, security: ChainSecurity, dir: string): Promise<EchoChain> {
  const script = fileURLToPath(import.meta.url);
  const hops: Awaited<ReturnType<typeof forkEchoServer>>[] = [];
  let next = "";
  for (let i = 0; i < depth; i++) {
    const hop = await forkEchoServer(script, ["hop", security, dir, next]);
    hops.unshift(hop);
    next = `127.0.0.1:${hop.port}`;
  }
  return {
    addresses: hops.map((h) => `127.0.0.1:${h.port}`),
    pids: hops.map((h) => h.child.pid!),
    stop: () => hops.forEach((h) => h.child.kill()),
  };
}

/** The hop process: serves Echo, forwarding to `next` when given. */
function serveHop(security: ChainSecurity, dir: string, next: string): void {
  const server = new grpc.Server();
  const creds = credentials(security, dir, "service");
  if (next) {
    const client = new Client(next, creds.channel()) as unknown as EchoClient;
    server.addService(echoService, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        client.Echo(call.request, (err, res) => (err ? cb(err) : cb(null, res))),
    });
  } else server.addService(echoService, echoHandlers);
  server.bindAsync("127.0.0.1:0", creds.server(), (err, port) =>
    process.send!(err ? { error: String(err) } : { port }),
  );
  process.on("message", () => process.send!({ cpu: process.cpuUsage().user / 1000 }));
  // The bench process went away (it crashed, or was killed): so does the hop.
  process.on("disconnect", () => process.exit(0));
}

async function standalone(): Promise<void> {
  const depth = Number(process.argv[2] ?? 4);
  const security = (process.argv[3] ?? "mtls") as ChainSecurity;
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-echo-chain-"));
  const chain = await startEchoChain(depth, security, dir);
  const head = echoClient(chain.addresses[0]!, security, dir);
  const tail = echoClient(chain.addresses.at(-1)!, security, dir);
  const payload = Buffer.alloc(300);
  for (let i = 0; i < 200; i++) await Promise.all([echoCall(head, payload), echoCall(tail, payload)]);
  for (let round = 0; round < 3; round++) {
    const p50 = async (c: EchoClient) =>
      quantile((await openLoop(() => echoCall(c, payload), 50, 4, "uniform")).lat, 0.5);
    const [t, h] = [await p50(tail), await p50(head)];
    console.log(
      `round ${round + 1}: tail p50 ${t.toFixed(3)} ms, head p50 ${h.toFixed(3)} ms, adds ${(h - t).toFixed(3)} ms`,
    );
  }
  chain.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

if (process.argv[2] === "hop") serveHop(process.argv[3] as ChainSecurity, process.argv[4]!, process.argv[5] ?? "");
else if (process.argv[1] === fileURLToPath(import.meta.url)) await standalone();
