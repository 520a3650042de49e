/**
 * Runs the built `sselfie` binary the way users run it: a child process with its own environment.
 * Requires `npm run build` first (`npm test` does it).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/sselfie.js", import.meta.url));
const BUILT = fileURLToPath(new URL("../../dist/cli/cli.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document, or undefined when it is not JSON. */
  json: any;
}

export interface CliRunOptions {
  /** The whole environment of the child, on top of PATH and HOME only (nothing leaks in from the test runner). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Run this program with `args` instead of the CLI (e.g. `sh` for a pipeline around it; use BIN). */
  command?: string;
  /** Runs the binary under this umask (through `sh -c 'umask ...; exec node ...'`), e.g. 0o000. */
  umask?: number;
}

export function runCli(args: string[], opts: CliRunOptions = {}): Promise<CliResult> {
  if (!existsSync(BUILT)) throw new Error("dist/cli/cli.js is missing: run `npm run build` first");
  // Replicate defaults to a closed loopback port: a test that forgets the emulator fails fast
  // instead of reaching for the internet.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    REPLICATE_BASE_URL: "http://127.0.0.1:9/v1",
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const [file, argv]: [string, string[]] = opts.command
      ? [opts.command, args]
      : opts.umask !== undefined
        ? ["/bin/sh", ["-c", `umask ${opts.umask.toString(8).padStart(3, "0")}; exec "$0" "$@"`, process.execPath, BIN, ...args]]
        : [process.execPath, [BIN, ...args]];
    const child = spawn(file, argv, { env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
    child.stdin.end(opts.input ?? "");
  });
}
