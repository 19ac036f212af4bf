import { runService } from "../lib/main.js";
import { readConfig } from "./config.js";
import { startFeature } from "./server.js";

await runService("feature", (log) => startFeature(readConfig(), log));
