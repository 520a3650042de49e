/**
 * The embedded database's start-up, against its floors, each spawned as its own process and
 * alternated in every round (so machine load hits them alike); medians of wall time and peak RSS.
 *
 *   floor: open        bare PGlite: open the home's existing data directory, SELECT 1, close
 *   sselfie status     a later command on that same home (authenticates, reads one user)
 *   floor: initdb      bare PGlite: create a fresh data directory (initdb), SELECT 1, close
 *   floor: loadDataDir bare PGlite: a fresh data directory from a migrated tarball, SELECT 1, close
 *   sselfie init       `init` on a fresh home (creates the database, the schema, the first admin)
 *
 * Peak RSS is the child's maximum resident set size as /usr/bin/time reports it. With a second
 * argument, the path of another build's bin/sselfie.js (a copy of an earlier dist/ and bin/ kept
 * inside the repository, so its packages resolve), its status and init join the same rounds.
 * Run: npm run build && npx tsx bench/startup-embedded.ts [rounds] [earlier-bin]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin/sselfie.js");
const TMP = join(ROOT, "bench/.tmp/startup-embedded");
const rounds = Number(process.argv[2] ?? 10);
const EARLIER = process.argv[3];

rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
const TIME_OUT = join(TMP, "time.txt");
const TARBALL = join(TMP, "migrated.tar.gz");

interface Sample {
  ms: number;
  rssMiB: number;
}

/** Runs one child under /usr/bin/time; returns its wall time (measured here) and peak RSS. */
function timed(args: string[], env: Record<string, string> = {}): Sample & { stdout: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", TIME_OUT, process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stdout} ${r.stderr}`);
  const kb = Number(readFileSync(TIME_OUT, "utf8").trim().split("\n").at(-1));
  return { ms, rssMiB: kb / 1024, stdout: r.stdout };
}

/** A bare PGlite script (ESM, run from the repository so the package resolves). */
function bare(body: string): string[] {
  return ["--input-type=module", "-e", `import { PGlite } from "@electric-sql/pglite";\n${body}`];
}

let fresh = 0;
const freshDir = (name: string) => join(TMP, `${name}-${fresh++}`);

// Set-up: an initialised home (its admin token for status) and a tarball of its data directory.
const home = join(TMP, "home");
const init = timed([BIN, "init", "--json"], { SSELFIE_HOME: home });
const token = (JSON.parse(init.stdout) as { operator: { token: string } }).operator.token;
const dataDir = join(home, "db");
timed(
  bare(
    `import { writeFileSync } from "node:fs";
     const db = await PGlite.create(${JSON.stringify(dataDir)});
     await db.query("CHECKPOINT");
     const blob = await db.dumpDataDir("gzip");
     writeFileSync(${JSON.stringify(TARBALL)}, Buffer.from(await blob.arrayBuffer()));
     await db.close();`,
  ),
);

const cases: Record<string, () => Sample> = {
  "floor: open": () =>
    timed(bare(`const db = await PGlite.create(${JSON.stringify(dataDir)}); await db.query("SELECT 1"); await db.close();`)),
  // The same open with the shared buffers sselfie gives PGlite (src/db/pglite.ts): the floor of
  // what sselfie's own settings cost, beside PGlite's defaults.
  "floor: open, 16MB buffers": () =>
    timed(
      bare(
        `const db = await PGlite.create(${JSON.stringify(dataDir)}, { startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"] });
         await db.query("SELECT 1"); await db.close();`,
      ),
    ),
  "sselfie status": () => timed([BIN, "status", "--user", "bench", "--json", "--token", token], { SSELFIE_HOME: home }),
  "floor: initdb": () => {
    const dir = freshDir("initdb");
    const s = timed(bare(`const db = await PGlite.create(${JSON.stringify(dir)}); await db.query("SELECT 1"); await db.close();`));
    rmSync(dir, { recursive: true, force: true });
    return s;
  },
  "floor: loadDataDir": () => {
    const dir = freshDir("load");
    const s = timed(
      bare(
        `import { readFileSync } from "node:fs";
         const loadDataDir = new Blob([readFileSync(${JSON.stringify(TARBALL)})], { type: "application/x-gzip" });
         const db = await PGlite.create({ dataDir: ${JSON.stringify(dir)}, loadDataDir });
         await db.query("SELECT 1"); await db.close();`,
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    return s;
  },
  "sselfie init": () => initOnce(BIN),
  ...(EARLIER
    ? {
        "earlier status": () => timed([EARLIER, "status", "--user", "bench", "--json", "--token", token], { SSELFIE_HOME: home }),
        "earlier init": () => initOnce(EARLIER),
      }
    : {}),
};

function initOnce(bin: string): Sample {
  const h = freshDir("home");
  const s = timed([bin, "init", "--json"], { SSELFIE_HOME: h });
  rmSync(h, { recursive: true, force: true });
  return s;
}

// SSELFIE_BENCH_ONLY=status,open (substrings) keeps only the matching cases, for a quick look.
const only = process.env.SSELFIE_BENCH_ONLY?.split(",").filter(Boolean);
if (only) for (const name of Object.keys(cases)) if (!only.some((o) => name.includes(o))) delete cases[name];
const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const loadBefore = loadavg();
for (let i = 0; i < rounds; i++) {
  for (const [name, run] of Object.entries(cases)) samples[name]!.push(run());
}
const loadAfter = loadavg();

const med = (name: string) => ({
  ms: median(samples[name]!.map((s) => s.ms)),
  rss: median(samples[name]!.map((s) => s.rssMiB)),
});
const ratioTo: Record<string, string[]> = {
  "sselfie status": ["floor: open", "floor: open, 16MB buffers"],
  "earlier status": ["floor: open", "floor: open, 16MB buffers"],
  "sselfie init": ["floor: open", "floor: open, 16MB buffers", "floor: loadDataDir"],
  "earlier init": ["floor: open", "floor: open, 16MB buffers", "floor: loadDataDir"],
};
console.log(`rounds: ${rounds}, interleaved; node ${process.version}; load average ${loadBefore.map((l) => l.toFixed(1)).join(" ")} before, ${loadAfter.map((l) => l.toFixed(1)).join(" ")} after`);
console.log("| case | median wall | median peak RSS | wall vs floor |");
console.log("|---|---:|---:|---:|");
for (const name of Object.keys(cases)) {
  const m = med(name);
  const floors = (ratioTo[name] ?? []).filter((f) => samples[f]);
  const ratio = floors.map((f) => `${(m.ms / med(f).ms).toFixed(2)}x ${f}`).join("; ");
  console.log(`| ${name} | ${(m.ms / 1000).toFixed(2)} s | ${m.rss.toFixed(0)} MiB | ${ratio} |`);
}
writeFileSync(join(TMP, "samples.json"), JSON.stringify(samples, null, 1));
rmSync(home, { recursive: true, force: true });
