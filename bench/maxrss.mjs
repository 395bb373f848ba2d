// `node --import ./bench/maxrss.mjs <script>`: at exit, writes this process's peak resident set
// size (process.resourceUsage().maxRSS, KiB) to stderr as its last line, `maxrss <KiB>`.
import { writeSync } from "node:fs";

process.on("exit", () => writeSync(2, `maxrss ${process.resourceUsage().maxRSS}\n`));
