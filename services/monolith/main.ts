import { runService } from "../lib/service/index.js";
import { readMonolithConfig } from "./config.js";
import { startMonolith } from "./server.js";

await runService("monolith", (log) => startMonolith(readMonolithConfig(), log));
