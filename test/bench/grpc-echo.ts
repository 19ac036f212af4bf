import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { echoHandlers, echoService, forkEchoServer } from "./echo-service.js";

/**
 * What one grpc-js call costs when calls come one at a time: a trivial echo server in a child process, a client
 * making 1,000 sequential calls (back to back, then with 1 and 5 ms gaps), the CPU of each side per call. This
 * is the floor under every hop of the mesh at low load, whatever the services do.
 * Run: npm run build && node dist/test/bench/grpc-echo.js
 */

/** User + system CPU of this process so far, ms. */
function cpuMs(): number {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

if (process.argv[2] === "server") {
  const server = new grpc.Server();
  server.addService(echoService, echoHandlers);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
    process.send!(err ? { error: String(err) } : { port }),
  );
  process.on("message", () => process.send!({ cpu: cpuMs() }));
} else {
  const { child, port, serverCpu } = await forkEchoServer(fileURLToPath(import.meta.url), ["server"]);
  const Client = grpc.makeGenericClientConstructor(echoService, "Echo");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
    Echo(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
  };
  const call = () =>
    new Promise<void>((resolve, reject) => client.Echo(Buffer.alloc(200), (err) => (err ? reject(err) : resolve())));
  for (let i = 0; i < 500; i++) await call();
  console.log("| calls | server CPU µs per call | client CPU µs per call | wall ms per call |\n|---|---:|---:|---:|");
  for (const gapMs of [0, 1, 5]) {
    const n = 1000;
    const [s0, c0, t0] = [await serverCpu(), cpuMs(), performance.now()];
    for (let i = 0; i < n; i++) {
      await call();
      if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
    }
    const [s1, c1, t1] = [await serverCpu(), cpuMs(), performance.now()];
    console.log(
      `| one at a time${gapMs ? `, ${gapMs} ms apart` : ", back to back"} | ${(((s1 - s0) * 1000) / n).toFixed(0)} | ${(((c1 - c0) * 1000) / n).toFixed(0)} | ${((t1 - t0) / n).toFixed(2)} |`,
    );
  }
  const inFlight = 32;
  const n = 20_000;
  const [s0, c0, t0] = [await serverCpu(), cpuMs(), performance.now()];
  let sent = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (sent++ < n) await call();
    }),
  );
  const [s1, c1, t1] = [await serverCpu(), cpuMs(), performance.now()];
  console.log(
    `| ${inFlight} in flight | ${(((s1 - s0) * 1000) / n).toFixed(0)} | ${(((c1 - c0) * 1000) / n).toFixed(0)} | ${((t1 - t0) / n).toFixed(3)} |`,
  );
  child.kill();
  process.exit(0);
}
