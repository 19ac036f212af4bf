import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { stateDirPath } from "../../deploy/local/mesh-state.js";
import { identityOptions, type NatsClientIdentity } from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";
import { BackupError, type BackupManifest } from "./backup/format.js";
import { backupMesh, restoreMesh } from "./backup/mesh-backup.js";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** The folder of the role identities a backup and a restore also use (`<role>.nk`: monitor, router, validator). */
export const IDENTITIES_DIR = "SCOREMESH_NATS_IDENTITIES_DIR";

export const BACKUP_USAGE = "usage: meshctl backup --out DIR [--signing-key FILE] | meshctl restore DIR [--force]";

type Role = "monitor" | "router" | "validator";

/** A role's identity: SCOREMESH_NATS_IDENTITIES_DIR/<role>.nk, else npm start's DIR/nats/identities/<role>.nk. */
function roleIdentity(role: Role, stateDir: string | undefined): NatsClientIdentity {
  const dir = process.env[IDENTITIES_DIR] || join(stateDirPath(stateDir), "nats", "identities");
  const file = join(dir, `${role}.nk`);
  try {
    return natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: file }));
  } catch {
    throw new CliError(`${IDENTITIES_DIR}: ${file} does not hold the ${role} identity's nkey seed (SU...)`, 2);
  }
}

/** Connections as control (NATS_NKEY_SEED_FILE, like every command), the monitor and the routers; closed after `fn`. */
async function withRoles<T>(
  target: MeshTarget,
  stateDir: string | undefined,
  fn: (c: {
    control: NatsConnection;
    monitor: NatsConnection;
    router: NatsConnection;
    validator: NatsConnection;
  }) => Promise<T>,
): Promise<T> {
  const servers = target.nats();
  const ids = {
    control: target.natsIdentity(),
    monitor: roleIdentity("monitor", stateDir),
    router: roleIdentity("router", stateDir),
    validator: roleIdentity("validator", stateDir),
  };
  const open: NatsConnection[] = [];
  const as = async (role: keyof typeof ids) => {
    const nc = await connect({ servers, timeout: 3000, name: `meshctl-${role}`, ...identityOptions(ids[role]) }).catch(
      (err: Error) => {
        throw new CliError(`cannot reach NATS at ${servers.join(",")} as ${role}: ${err.message}`);
      },
    );
    open.push(nc);
    return nc;
  };
  try {
    const [control, monitor, router] = [await as("control"), await as("monitor"), await as("router")];
    return await fn({ control, monitor, router, validator: await as("validator") });
  } catch (err) {
    throw err instanceof BackupError ? new CliError(err.message) : err;
  } finally {
    for (const nc of open) await nc.close();
  }
}

/** Progress on stderr: every line of a bucket, a stream's "n/m" at most once a second and when done. */
function progressLine(): (line: string) => void {
  let last = 0;
  return (line) => {
    const m = /(\d+)\/(\d+) messages$/.exec(line);
    if (m && m[1] !== m[2] && Date.now() - last < 1000) return;
    last = Date.now();
    process.stderr.write(`meshctl: ${line}\n`);
  };
}

function summary(dir: string, m: BackupManifest) {
  const bytes = [...m.kv, ...m.objects, ...m.streams].reduce((s, p) => s + p.bytes, 0);
  return {
    dir,
    createdAt: m.createdAt,
    kv: m.kv,
    objects: m.objects,
    streams: m.streams,
    signingKey: m.signingKey,
    bytes,
  };
}

function print(verb: string, dir: string, m: BackupManifest, out: Output): void {
  const s = summary(dir, m);
  if (out.json) return printJson(s);
  console.log(`${verb} ${dir} (backup of ${m.createdAt}, ${s.bytes} bytes of values):`);
  for (const p of m.kv) console.log(`  ${p.bucket.padEnd(26)} ${p.keys} keys, ${p.bytes} bytes`);
  for (const p of m.objects) console.log(`  ${p.bucket.padEnd(26)} ${p.objects} objects, ${p.bytes} bytes`);
  for (const p of m.streams) console.log(`  ${p.stream.padEnd(26)} ${p.messages} messages, ${p.bytes} bytes`);
  console.log(`  audit signing key          ${m.signingKey ? "included (secrets/, 0600)" : "not included"}`);
}

/** `meshctl backup --out DIR [--signing-key FILE]`. */
export async function backup(
  target: MeshTarget,
  values: { out?: string; "signing-key"?: string; "state-dir"?: string },
  out: Output,
): Promise<void> {
  if (!values.out) throw new CliError(BACKUP_USAGE, 2);
  const dir = values.out;
  const m = await withRoles(target, values["state-dir"], (c) =>
    backupMesh(c, dir, { signingKeyFile: values["signing-key"], progress: progressLine() }),
  );
  print("backed up to", dir, m, out);
}

/** `meshctl restore DIR [--force]`. */
export async function restore(
  target: MeshTarget,
  dir: string,
  values: { force?: boolean; "state-dir"?: string },
  out: Output,
): Promise<void> {
  const m = await withRoles(target, values["state-dir"], (c) =>
    restoreMesh(c, dir, { force: values.force === true, progress: progressLine() }),
  );
  print("restored from", dir, m, out);
  if (!out.json) console.log("check the trail: meshctl audit verify");
}
