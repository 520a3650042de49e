/** `npm run emulator`: the standalone server prints its URL, token and owner, and stops on SIGINT. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

it("serves with the given token and owner until SIGINT", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/emulator/main.ts", "--port", "0", "--token", "test-token-carol", "--owner", "carol"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
      setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
    });
    expect(out).toContain("REPLICATE_API_TOKEN=test-token-carol");
    expect(out).toContain("owner: carol");
    const res = await fetch(`${url}/account`, { headers: { authorization: "Bearer test-token-carol" } });
    expect(await res.json()).toMatchObject({ username: "carol" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    await expect(fetch(`${url}/account`)).rejects.toThrow();
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
