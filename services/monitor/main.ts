import { runService } from "../lib/main.js";
import { readConfig } from "./config.js";
import { startMonitor } from "./server.js";

await runService("monitor", (log) => startMonitor(readConfig(), log));
