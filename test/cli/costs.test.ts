/** `sselfie costs` and `sselfie budget` through the built CLI: scopes, bad input, the JSON documents. */
import { expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { forEachCliBackend, initAndGetAdminToken } from "../support/cli-env.js";

forEachCliBackend((backend) => {
  it("budget set (admin) and show (read); costs on an empty database; a reader cannot set a budget", async () => {
    const base = await backend.env();
    const env = { ...base, SSELFIE_TOKEN: await initAndGetAdminToken(base) };
    expect((await runCli(["budget", "show", "--user", "42", "--json"], { env })).json).toEqual({
      userId: "42",
      cap: null,
      source: null,
      spent: 0,
      reserved: 0,
      available: null,
    });
    expect((await runCli(["budget", "set", "--default", "--usd", "10", "--json"], { env })).json).toEqual({ userId: null, default: true, usd: 10 });
    expect((await runCli(["budget", "set", "--user", "42", "--usd", "2.5", "--json"], { env })).json).toEqual({ userId: "42", default: false, usd: 2.5 });
    const text = await runCli(["budget", "show"], { env });
    expect(text.stdout).toMatch(/Default: \$10\.00/);
    expect(text.stdout).toMatch(/42 +\$2\.50/);

    expect((await runCli(["costs", "--json"], { env })).json).toEqual({
      currency: "USD",
      total: 0,
      trainings: { count: 0, seconds: 0, usd: 0 },
      generations: { count: 0, seconds: 0, usd: 0 },
      users: [],
    });

    const reader = (await runCli(["operators", "create", "--name", "reader", "--scopes", "read", "--json"], { env })).json.token as string;
    const refused = await runCli(["budget", "set", "--user", "42", "--usd", "99", "--json"], { env: { ...env, SSELFIE_TOKEN: reader } });
    expect(refused.code).toBe(3);
    expect(refused.json.error.code).toBe("FORBIDDEN");
    expect((await runCli(["budget", "show", "--user", "7", "--json"], { env: { ...env, SSELFIE_TOKEN: reader } })).json).toMatchObject({
      cap: 10,
      source: "default",
      available: 10,
    });
  }, 180_000);
});

it.each([
  [["budget", "set", "--user", "42", "--usd", "-1"], "INVALID_INPUT"],
  [["budget", "set", "--user", "42", "--usd", "1e3"], "INVALID_INPUT"],
  [["budget", "set", "--user", "42"], "INVALID_INPUT"],
  [["budget", "set", "--usd", "5"], "INVALID_INPUT"],
  [["budget", "set", "--default", "--user", "42", "--usd", "5"], "INVALID_INPUT"],
  [["budget", "show", "--user", "Bad/Id"], "INVALID_INPUT"],
  [["costs", "--since", "yesterday"], "INVALID_INPUT"],
  [["costs", "--since", "2026-02-30"], "INVALID_INPUT"],
])("%j is exit 2 (%s) before any I/O", async (args, code) => {
  const env = { SSELFIE_HOME: "/nonexistent/sselfie", DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
  const r = await runCli([...args, "--json"], { env });
  expect(r.code).toBe(2);
  expect(r.json.error.code).toBe(code);
});

it("a bad SSELFIE_PRICE_PER_SECOND is a configuration error (exit 6)", async () => {
  const r = await runCli(["costs", "--json"], { env: { SSELFIE_HOME: "/nonexistent/sselfie", SSELFIE_PRICE_PER_SECOND: "cheap" } });
  expect(r.code).toBe(6);
  expect(r.json.error.message).toMatch(/SSELFIE_PRICE_PER_SECOND/);
});
