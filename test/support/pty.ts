/**
 * Runs the built `sselfie` binary on a real pseudo-terminal of a chosen size, as a terminal user
 * (or a CI job, an editor's shell, `script` without a size) runs it: stdin, stdout and stderr are
 * all the terminal, so `isTTY` is true and `columns` is what the terminal reports (0 included).
 * Python's pty module makes the terminal; the size is set in the child before the CLI starts.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { BIN } from "./cli.js";

const BUILT = new URL("../../dist/cli/cli.js", import.meta.url);

/** Whether python3 (with its pty module) is there to make a terminal. */
export const HAVE_PTY = process.platform !== "win32" && spawnSync("python3", ["-c", "import pty"], { stdio: "ignore" }).status === 0;

// argv: cols rows program args...; prints the child's pid on stderr, relays the terminal's bytes to
// stdout and its own stdin to the terminal (keys typed), passes SIGTERM and SIGINT on to the child,
// and exits as the child did (128 + n for a signal).
const RELAY = String.raw`
import fcntl, os, pty, select, signal, struct, sys, termios
cols, rows = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(sys.argv[3], sys.argv[3:])
sys.stderr.write("%d\n" % pid)
sys.stderr.flush()
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda n, f: os.kill(pid, n))
out = sys.stdout.buffer
inputs = [fd, 0]
while True:
    try:
        ready = select.select(inputs, [], [])[0]
    except InterruptedError:
        continue
    if 0 in ready:
        typed = os.read(0, 1024)
        if typed:
            os.write(fd, typed)
        else:
            inputs.remove(0)
    if fd not in ready:
        continue
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out.write(chunk)
    out.flush()
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.exit(code if code >= 0 else 128 - code)
`;

export interface PtyRun {
  /** Everything the terminal received so far (stdout and stderr together, as a terminal shows them). */
  readonly output: () => string;
  /** Bytes the terminal received so far. */
  readonly bytes: () => number;
  /** Sends a signal to the CLI process itself. */
  kill(signal: NodeJS.Signals): void;
  /** Types on the terminal: `"\x03"` is Ctrl-C as a user presses it (the terminal or the CLI's raw mode turns it into SIGINT). */
  type(keys: string): void;
  /** The CLI's exit code (128 + n when a signal ended it), or null when it was still running after `ms` and was killed. */
  exited(ms: number): Promise<number | null>;
}

export function runCliOnPty(args: string[], opts: { columns: number; rows?: number; env: Record<string, string> }): PtyRun {
  if (!existsSync(BUILT)) throw new Error("dist/cli/cli.js is missing: run `npm run build` first");
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TERM: "xterm-256color", REPLICATE_BASE_URL: "http://127.0.0.1:9/v1", ...opts.env };
  const relay = spawn("python3", ["-c", RELAY, String(opts.columns), String(opts.rows ?? 0), process.execPath, BIN, ...args], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let bytes = 0;
  const chunks: Buffer[] = [];
  let kept = 0;
  relay.stdout.on("data", (d: Buffer) => {
    bytes += d.length;
    // Keep the first 4 MB: enough to read, bounded however much a broken CLI writes.
    if (kept < 4 * 1024 * 1024) {
      chunks.push(d);
      kept += d.length;
    }
  });
  let pidText = "";
  relay.stderr.setEncoding("utf8").on("data", (d) => (pidText += d));
  const childPid = () => Number.parseInt(pidText, 10);
  const done = new Promise<number | null>((resolve) => relay.on("close", (code) => resolve(code)));
  return {
    output: () => Buffer.concat(chunks).toString("utf8"),
    bytes: () => bytes,
    type(keys) {
      relay.stdin.write(keys);
    },
    kill(signal) {
      if (Number.isInteger(childPid())) process.kill(childPid(), signal);
    },
    async exited(ms) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
      const result = await Promise.race([done, late]);
      clearTimeout(timer);
      if (result !== "late") return result;
      // Still running: it ignored what it was told. Kill the CLI itself (the relay then ends).
      try {
        if (Number.isInteger(childPid())) process.kill(childPid(), "SIGKILL");
      } catch {
        // already gone
      }
      await done;
      return null;
    },
  };
}
