import { runService } from "../lib/service/index.js";
import { readConfig } from "./config.js";
import { startMonitor } from "./server.js";

await runService("monitor", (log) => startMonitor(readConfig(), log));
