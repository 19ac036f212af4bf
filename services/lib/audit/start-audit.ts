import { hostname } from "node:os";
import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import type { ServiceHost } from "../service/index.js";
import type { AuditConfig } from "./audit-config.js";
import { AuditTrail } from "./audit-trail.js";
import { Shipper } from "./shipper.js";
import { Spool } from "./spool.js";
import { EDGE_WRITER_PREFIX, type AuditRole } from "./stream.js";

/** This process's writer name: a new chain per model at every start ("router-…", or "validator-…" for the edge). */
export function writerName(role: AuditRole = "router"): string {
  const prefix = role === "edge" ? EDGE_WRITER_PREFIX : "router-";
  return `${prefix}${hostname().replace(/[^A-Za-z0-9-]/g, "_")}-${process.pid}-${Date.now().toString(36)}`;
}

/**
 * The spool (opened before the service listens: records of earlier processes are recovered) and the trail; the
 * spool closes with `host` (without one, the caller closes it).
 */
export function openAudit(host: ServiceHost | undefined, config: AuditConfig, log: Logger, role: AuditRole = "router") {
  const writer = writerName(role);
  const spool = Spool.open({
    dir: config.spoolDir,
    writer,
    syncMs: config.fsyncMs,
    maxBytes: config.spoolMaxBytes,
    log,
  });
  host?.onClose(() => spool.close());
  const trail = new AuditTrail(spool, {
    writer,
    role,
    key: config.signingKey,
    checkpointMs: config.checkpointMs,
    whenFull: config.whenFull,
    log,
  });
  log.info(
    { writer, spoolDir: config.spoolDir, spoolBytes: spool.bytes },
    role === "edge" ? "audit trail: spooling the edge's rules decisions" : "audit trail: spooling decisions",
  );
  return { spool, trail };
}

/** Ships the spool to the audit stream once NATS is up; at close: last checkpoint, last round, then NATS goes. */
export function shipAudit(
  host: ServiceHost,
  audit: ReturnType<typeof openAudit>,
  nc: NatsConnection,
  config: AuditConfig,
  log: Logger,
): Shipper {
  const shipper = new Shipper(audit.spool, nc.jetstream(), { intervalMs: config.shipMs, log });
  host.onClose(async () => {
    audit.trail.close();
    await shipper.close();
  });
  void shipper.tick();
  return shipper;
}
