import { runService } from "../lib/service/index.js";
import { readConfig } from "./config.js";
import { startWorker } from "./server.js";

await runService("model-worker", (log) => startWorker(readConfig(), log));
