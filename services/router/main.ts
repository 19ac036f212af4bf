import { runService } from "../lib/service/index.js";
import { readConfig } from "./config.js";
import { startRouter } from "./server.js";

await runService("router", (log) => startRouter(readConfig(), log));
