/**
 * Start-up cost of the CLI: `sselfie --version` and `sselfie --help` against a bare `node -e 0`,
 * each spawned many times in alternation; medians and the median ratio.
 * Run: npm run build && npx tsx bench/startup.ts [runs]
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

const BIN = fileURLToPath(new URL("../bin/sselfie.js", import.meta.url));
const runs = Number(process.argv[2] ?? 40);

const cases: Record<string, string[]> = {
  "node -e 0": ["-e", "0"],
  "sselfie --version": [BIN, "--version"],
  "sselfie --help": [BIN, "--help"],
};

function timeOnce(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}


const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const args of Object.values(cases)) timeOnce(args); // warm the file cache
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(cases)) samples[name]!.push(timeOnce(args));
}
const base = median(samples["node -e 0"]!);
console.log(`runs: ${runs} each, interleaved; node ${process.version}`);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(`${name.padEnd(20)} median ${m.toFixed(1)} ms  ratio ${(m / base).toFixed(2)}x`);
}
