import { readDevKey } from "../../deploy/local/dev-tenant.js";
import { readMeshState, stateDirPath } from "../../deploy/local/mesh-state.js";
import { readFileSync } from "node:fs";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { operatorSigner, type Signer } from "../../services/lib/nats/index.js";
import {
  ConfigError,
  EnvReader,
  natsIdentity,
  natsServers,
  readEdgeCredentials,
  readTlsConfig,
  trustedOperators,
} from "../../services/lib/service/index.js";
import { CliError } from "./output.js";

/** The variable that names the operator's signing key (an nkey operator seed, "SO..."). */
export const OPERATOR_KEY_FILE = "SCOREMESH_OPERATOR_KEY_FILE";

/**
 * Where the mesh is: the variables the services read (VALIDATOR_GRPC_ADDR, NATS_URL, ...) where they are set,
 * else what the running `npm start` wrote to its state folder (.scoremesh/mesh.json, or --state-dir). No
 * localhost default: without either, a command says which variable it needs. The same goes for TLS: TLS_CA_FILE,
 * TLS_CERT_FILE and TLS_KEY_FILE (the launcher gives meshctl the client identity under .scoremesh/tls/).
 */
export class MeshTarget {
  private readonly env: EnvReader;
  /** Said with a missing variable when no launcher's state was found. */
  private readonly noLauncher?: string;
  private readonly stateDir: string;

  constructor(stateDir?: string, processEnv: NodeJS.ProcessEnv = process.env) {
    const dir = stateDirPath(stateDir);
    this.stateDir = dir;
    const state = readMeshState(dir);
    this.env = new EnvReader({ ...(state?.running ? state.env : {}), ...processEnv });
    if (!state?.running) this.noLauncher = `no mesh started by npm start runs from ${dir}`;
  }

  validator = () => this.read(() => this.env.address("VALIDATOR_GRPC_ADDR"));
  feature = () => this.read(() => this.env.address("FEATURE_ADDR"));
  router = () => this.read(() => this.env.address("ROUTER_ADDR"));
  worker = () => this.read(() => this.env.address("WORKER_ADDR"));
  monitor = () => this.read(() => this.env.address("MONITOR_ADDR"));
  nats = () => this.read(() => natsServers(this.env));
  repository = () => this.env.string("MODEL_REPOSITORY", "models");
  /** Channel credentials for the internal services: mutual TLS with the client certificate (or TLS_MODE=off). */
  credentials = (): ChannelCredentials => this.read(() => (this.tls ??= readTlsConfig(this.env).channel()));
  /** Channel credentials for the validator's public listeners (TLS when VALIDATOR_PUBLIC_TLS=on). */
  edgeCredentials = (): ChannelCredentials => this.read(() => readEdgeCredentials(this.env).channel());
  private tls?: ChannelCredentials;
  /** The control identity (NATS_NKEY_SEED_FILE; npm start's .scoremesh/nats/identities/control.nk). */
  natsIdentity = () => this.read(() => natsIdentity(this.env));
  trustedOperators = () => this.read(() => trustedOperators(this.env));
  /** The audit trail's public key file (SCOREMESH_AUDIT_PUBLIC_KEY_FILE; npm start's .scoremesh/audit/signing-key.pub.pem). */
  auditPublicKeyFile = () => this.read(() => this.env.string("SCOREMESH_AUDIT_PUBLIC_KEY_FILE"));
  /** The edge's checkpoint key (SCOREMESH_AUDIT_EDGE_PUBLIC_KEY_FILE); unset: the edge signs with the routers' key. */
  auditEdgePublicKeyFile = () => this.read(() => this.env.optional("SCOREMESH_AUDIT_EDGE_PUBLIC_KEY_FILE"));
  /** The operator's own signing key (SCOREMESH_OPERATOR_KEY_FILE), for commands that change policy. */
  operatorSigner = (): Signer =>
    this.read(() => {
      const file = this.env.string(OPERATOR_KEY_FILE);
      try {
        return operatorSigner(readFileSync(file, "utf8"));
      } catch (err) {
        throw new ConfigError(
          OPERATOR_KEY_FILE,
          `${file} does not hold an operator seed (SO...): ${(err as Error).message}`,
        );
      }
    });

  /** The API key for the scoring API: SCOREMESH_API_KEY, else the development tenant's key in the state folder. */
  apiKey = (): string => {
    const key = this.env.string("SCOREMESH_API_KEY", "") || readDevKey(this.stateDir);
    if (key) return key;
    throw new CliError(
      `no API key: set SCOREMESH_API_KEY, or start the mesh with npm start (it writes ${this.stateDir}/dev-api-key)`,
      2,
    );
  };

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const how = this.noLauncher
        ? ` (${this.noLauncher}: start one, pass --state-dir DIR, or set ${err.variable})`
        : "";
      throw new CliError(`${err.message}${how}`, 2);
    }
  }
}
