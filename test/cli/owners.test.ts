/** `sselfie owners add/list/drain` as users run them: the built binary, --json, exit codes. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { forEachCliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { ACCOUNTS, TOKENS } from "../owners/owners-support.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ accounts: ACCOUNTS });
});
afterAll(() => emu.close());

forEachCliBackend((backend) => {
  it("lists the implicit owner until owners are added; add and drain them (admin only); tokens never printed", { timeout: 150_000 }, async () => {
    const base = await backend.env();
    const admin = await initAndGetAdminToken(base);
    const env = { ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, ...TOKENS };

    const implicit = await runCli(["owners", "list", "--json"], { env });
    expect(implicit.code).toBe(0);
    // REPLICATE_OWNER unset: the implicit owner is the account of REPLICATE_API_TOKEN.
    expect(implicit.json).toEqual({
      owners: [{ name: "alice", tokenEnv: "REPLICATE_API_TOKEN", capacity: 1000, used: 0, free: 1000, status: "active", full: false, implicit: true }],
    });

    const added = await runCli(["owners", "add", "bob", "--token-env", "REPLICATE_TOKEN_BOB", "--capacity", "250", "--json"], { env });
    expect(added.code).toBe(0);
    expect(added.json).toEqual({ name: "bob", tokenEnv: "REPLICATE_TOKEN_BOB", capacity: 250, used: 0, free: 250, status: "active", full: false });
    expect((await runCli(["owners", "add", "carol", "--token-env", "REPLICATE_TOKEN_CAROL", "--json"], { env })).code).toBe(0);

    const drained = await runCli(["owners", "drain", "bob", "--json"], { env });
    expect(drained.code).toBe(0);
    expect(drained.json).toMatchObject({ name: "bob", status: "draining", free: 0 });

    const list = await runCli(["owners", "list", "--json"], { env });
    expect(list.json.owners.map((o: { name: string; status: string; free: number }) => [o.name, o.status, o.free])).toEqual([
      ["bob", "draining", 0],
      ["carol", "active", 1000],
    ]);
    const text = await runCli(["owners", "list"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/carol\s+REPLICATE_TOKEN_CAROL\s+0\s+1000\s+1000\s+active/);
    for (const out of [implicit, added, drained, list, text]) {
      for (const token of [emu.token, ...Object.values(TOKENS)]) expect(out.stdout + out.stderr).not.toContain(token);
    }

    // Exit codes: invalid input 2, already added 4, unknown owner 4, no admin scope 3.
    const cases: Array<[string[], number, string]> = [
      [["owners", "add", "dave", "--token-env", "REPLICATE_TOKEN_DAVE", "--capacity", "lots"], 2, "INVALID_INPUT"],
      [["owners", "add", "dave", "--token-env", TOKENS.REPLICATE_TOKEN_DAVE!], 2, "INVALID_INPUT"],
      [["owners", "add", "carol", "--token-env", "REPLICATE_TOKEN_CAROL"], 4, "OWNER_EXISTS"],
      [["owners", "drain", "nobody"], 4, "OWNER_NOT_FOUND"],
    ];
    for (const [args, code, error] of cases) {
      const r = await runCli([...args, "--json"], { env });
      expect([r.code, r.json?.error?.code], r.stdout + r.stderr).toEqual([code, error]);
      expect(r.stdout + r.stderr).not.toContain(TOKENS.REPLICATE_TOKEN_DAVE);
    }
    const reader = await runCli(["operators", "create", "--name", "ci", "--scopes", "read", "--json"], { env });
    const forbidden = await runCli(["owners", "list", "--json"], { env: { ...env, SSELFIE_TOKEN: reader.json.token } });
    expect([forbidden.code, forbidden.json.error.code]).toEqual([3, "FORBIDDEN"]);
  });
});
