import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { echoHandlers, echoService, forkEchoServer } from "./echo-service.js";
import { devTlsEnv } from "../../deploy/local/dev-certs.js";
import { MeshCredentials } from "../../services/lib/rpc/index.js";
import { EnvReader, readTlsConfig } from "../../services/lib/service/index.js";

/**
 * What mutual TLS costs one hop: a grpc-js echo server in a child process, plaintext and then mTLS (the mesh's
 * development certificates, ECDSA P-256), a client making sequential calls back to back and then 2 ms apart (a
 * low rate: no batching, no queueing), with the CPU of each side per call and the latency quantiles; then the cost of a new connection
 * (TLS handshake included), one call each on fresh channels.
 * Run: npm run build && node dist/test/bench/tls-cost.js [--rounds N] (default 3; plaintext and mTLS alternate, so
 * that a busy machine weighs on both alike: compare within a round, and take the median over rounds).
 */

type Mode = "plaintext" | "mtls";

/** CPU (user + system) of this process so far, µs. */
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function credentials(mode: Mode, dir: string, who: "server" | "client"): MeshCredentials {
  if (mode === "plaintext") return MeshCredentials.plaintext();
  const tls = devTlsEnv(dir, "mtls", ["echo"]);
  return readTlsConfig(new EnvReader(who === "server" ? { ...tls.env, ...tls.serviceEnv("echo") } : tls.env));
}

type EchoClient = grpc.Client & { Echo(req: Buffer, cb: (err: grpc.ServiceError | null) => void): void };
const Client = grpc.makeGenericClientConstructor(echoService, "Echo");
const call = (c: EchoClient, bytes: number) =>
  new Promise<void>((resolve, reject) => c.Echo(Buffer.alloc(bytes), (err) => (err ? reject(err) : resolve())));
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1]!;

async function measure(mode: Mode, dir: string, bytes: number): Promise<string> {
  const { child, port, serverCpu } = await forkEchoServer(fileURLToPath(import.meta.url), ["server", mode, dir]);
  const creds = credentials(mode, dir, "client").channel();
  const client = new Client(`127.0.0.1:${port}`, creds) as unknown as EchoClient;
  for (let i = 0; i < 500; i++) await call(client, bytes);
  const series = async (n: number, gapMs: number) => {
    const ms: number[] = [];
    const [s0, c0] = [await serverCpu(), cpuUs()];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await call(client, bytes);
      ms.push(performance.now() - t);
      if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
    }
    const [s1, c1] = [await serverCpu(), cpuUs()];
    return { server: (s1 - s0) / n, client: (c1 - c0) / n, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
  };
  const b2b = await series(3000, 0);
  const slow = await series(1000, 2);
  client.close();
  const fresh: number[] = [];
  for (let i = 0; i < 50; i++) {
    // A channel option that differs per channel keeps grpc-js from sharing one subchannel (and its connection).
    const c = new Client(`127.0.0.1:${port}`, creds, { "bench.channel": i }) as unknown as EchoClient;
    const t = performance.now();
    await call(c, bytes);
    fresh.push(performance.now() - t);
    c.close();
  }
  child.send("exit");
  const f = (x: number, d = 0) => x.toFixed(d);
  return (
    `| ${mode} | ${bytes} B | ${f(b2b.server)} | ${f(b2b.client)} | ${f(b2b.p50, 3)} | ` +
    `${f(slow.server)} | ${f(slow.client)} | ${f(slow.p50, 3)} | ${f(slow.p99, 3)} | ${f(quantile(fresh, 0.5), 2)} |`
  );
}

if (process.argv[2] === "server") {
  const [mode, dir] = [process.argv[3] as Mode, process.argv[4]!];
  const server = new grpc.Server();
  server.addService(echoService, echoHandlers);
  server.bindAsync("127.0.0.1:0", credentials(mode, dir, "server").server(), (err, port) =>
    process.send!(err ? { error: String(err) } : { port }),
  );
  process.on("message", (m) => (m === "exit" ? process.exit(0) : process.send!({ cpu: cpuUs() })));
} else {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-tls-cost-"));
  console.log(
    "| hop | payload | back to back: server CPU µs/call | client CPU µs/call | p50 ms | " +
      "2 ms apart: server CPU µs/call | client CPU µs/call | p50 ms | p99 ms | new connection + first call, p50 ms |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  try {
    const i = process.argv.indexOf("--rounds");
    const rounds = i > 0 ? Number(process.argv[i + 1]) : 3;
    for (let r = 0; r < rounds; r++) {
      for (const mode of ["plaintext", "mtls"] as Mode[]) {
        for (const bytes of [200, 4096]) console.log(await measure(mode, dir, bytes));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
