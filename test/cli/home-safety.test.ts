/**
 * The machine sselfie runs on (issue 10): SSELFIE_HOME is private whatever the umask, an open home
 * is warned about, PostgreSQL's schemas and `public` are refused, empty settings are errors, and a
 * home that cannot be used is exit 6 naming it, at once (never a loop, never "a bug in sselfie").
 * Real file modes, the built binary, the real server when TEST_DATABASE_URL is set.
 */
import { existsSync } from "node:fs";
import { chmod, lstat, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { TEST_DATABASE_URL } from "../support/databases.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { tempDir } from "../support/temp-dirs.js";

const IS_ROOT = process.getuid?.() === 0;
const HAS_PROC = existsSync("/proc/self");
const HAS_SYS = existsSync("/sys/kernel");

/** Every path under `dir` (itself included, as ".") with whether it is a folder and its permission bits. */
async function modesUnder(dir: string): Promise<Array<{ path: string; dir: boolean; mode: number }>> {
  const found: Array<{ path: string; dir: boolean; mode: number }> = [];
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    found.push({ path: path.slice(dir.length) || ".", dir: info.isDirectory(), mode: info.mode & 0o777 });
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(dir);
  return found;
}

function notPrivate(entries: Awaited<ReturnType<typeof modesUnder>>): string[] {
  return entries.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600)).map((e) => `${e.path} ${e.mode.toString(8)}`);
}

describe("SSELFIE_HOME is private whatever the umask", () => {
  it("init (creating the embedded database) and login under umask 000 leave folders 0700 and files 0600", async () => {
    // A missing parent too: every folder sselfie makes is private.
    const parent = join(tempDir("sselfie-home-modes-"), "made-by-sselfie");
    const home = join(parent, "home");
    const env = { SSELFIE_HOME: home };
    const init = await runCli(["init", "--json"], { env, umask: 0o000, timeoutMs: 120_000 });
    expect(init.code, init.stderr).toBe(0);
    const token = init.json.operator.token as string;

    const login = await runCli(["login", "--json", "--token", token], { env, umask: 0o000 });
    expect(login.code, login.stderr).toBe(0);
    expect(login.json.configFile).toBe(join(home, "config.json"));

    const entries = await modesUnder(parent);
    expect(entries.map((e) => e.path)).toEqual(expect.arrayContaining(["/home/config.json", "/home/db", "/home/db/PG_VERSION"]));
    expect(entries.length).toBeGreaterThan(100); // the database's files are there to check
    expect(notPrivate(entries)).toEqual([]);

    // A config file saved before (or by hand) with a looser mode is made private when login rewrites it.
    await chmod(join(home, "config.json"), 0o644);
    const again = await runCli(["login", "--json", "--token", token], { env, umask: 0o000 });
    expect(again.code, again.stderr).toBe(0);
    // Opening the existing database (and closing it) under umask 000 keeps it private too.
    expect(notPrivate(await modesUnder(parent))).toEqual([]);
  }, 240_000);

  it("warns on stderr, even with --json, when an existing home is open to other users; not when it is 0700", async () => {
    const home = join(tempDir("sselfie-home-open-"), "home");
    await copyPgliteTemplate(home);
    const env = { SSELFIE_HOME: home };
    for (const mode of [0o755, 0o777]) {
      await chmod(home, mode);
      const r = await runCli(["init", "--json"], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ schemaVersion: expect.any(Number) });
      expect(r.stderr).toContain(home);
      expect(r.stderr).toMatch(new RegExp(`open to other users.*mode 0${mode.toString(8)}.*chmod 700`));
    }
    await chmod(home, 0o700);
    const closed = await runCli(["init", "--json"], { env });
    expect(closed.code).toBe(0);
    expect(closed.stderr).toBe("");
  }, 120_000);
});

const RESERVED_SCHEMAS = ["information_schema", "pg_catalog", "pg_toast", "pg_temp_1", "public"];
/** Spellings that are not a lowercase identifier at all (quoting and case are never interpreted). */
const MALFORMED_SCHEMAS = ["PG_CATALOG", '"pg_catalog"', "Public", "pg_catalog;drop"];

describe("schemas that belong to PostgreSQL or to other applications are refused", () => {
  it("on the embedded database: exit 6 and no database is created", async () => {
    const home = join(tempDir("sselfie-home-schema-"), "home");
    for (const schema of RESERVED_SCHEMAS) {
      const r = await runCli(["init", "--json"], { env: { SSELFIE_HOME: home, SSELFIE_SCHEMA: schema } });
      expect([schema, r.code, r.json?.error?.code]).toEqual([schema, 6, "DATABASE_SCHEMA_RESERVED"]);
      expect(r.json.error.message).toContain(`"${schema}"`);
    }
    for (const schema of MALFORMED_SCHEMAS) {
      const r = await runCli(["init", "--json", "--schema", schema], { env: { SSELFIE_HOME: home } });
      expect([schema, r.code, r.json?.error?.code]).toEqual([schema, 6, "CONFIG_ERROR"]);
    }
    expect(existsSync(join(home, "db"))).toBe(false);
  }, 120_000);

  it.skipIf(!TEST_DATABASE_URL)("on a server: exit 6 and no table appears in them", async () => {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    // sselfie's first tables; pg_temp_1 need not exist (sselfie would create it).
    const sselfieTables = ["migrations", "users", "operators", "user_models", "trainings", "generations"];
    const count = async () =>
      Number(
        (
          await client.query(
            `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1) AND c.relname = ANY($2)`,
            [RESERVED_SCHEMAS, sselfieTables],
          )
        ).rows[0].n,
      );
    const schemasBefore = (await client.query("SELECT nspname FROM pg_namespace WHERE nspname = 'pg_temp_1'")).rowCount;
    try {
      const before = await count();
      const home = tempDir("sselfie-home-schema-pg-");
      for (const schema of RESERVED_SCHEMAS) {
        const r = await runCli(["init", "--json"], { env: { SSELFIE_HOME: home, DATABASE_URL: TEST_DATABASE_URL!, SSELFIE_SCHEMA: schema } });
        expect([schema, r.code, r.json?.error?.code]).toEqual([schema, 6, "DATABASE_SCHEMA_RESERVED"]);
      }
      expect(await count()).toBe(before);
      expect((await client.query("SELECT nspname FROM pg_namespace WHERE nspname = 'pg_temp_1'")).rowCount).toBe(schemasBefore);
    } finally {
      await client.end();
    }
  }, 120_000);
});

describe("a setting that is set but empty is an error, not the default", () => {
  it("SSELFIE_HOME, DATABASE_URL, SSELFIE_SCHEMA, SSELFIE_TOKEN, REPLICATE_OWNER, REPLICATE_BASE_URL: exit 6 naming it", async () => {
    const root = tempDir("sselfie-home-empty-");
    // Where the default home would be: it must not be created.
    const defaults = { HOME: root, XDG_DATA_HOME: join(root, "data") };
    const home = join(root, "home");
    const cases: Array<[string, Record<string, string>]> = [
      ["SSELFIE_HOME", { SSELFIE_HOME: "" }],
      ["SSELFIE_HOME", { SSELFIE_HOME: "  " }],
      ["DATABASE_URL", { SSELFIE_HOME: home, DATABASE_URL: "" }],
      ["SSELFIE_SCHEMA", { SSELFIE_HOME: home, SSELFIE_SCHEMA: "" }],
      ["SSELFIE_TOKEN", { SSELFIE_HOME: home, SSELFIE_TOKEN: "" }],
      ["REPLICATE_OWNER", { SSELFIE_HOME: home, REPLICATE_OWNER: "" }],
      ["REPLICATE_BASE_URL", { SSELFIE_HOME: home, REPLICATE_BASE_URL: "" }],
    ];
    for (const [name, env] of cases) {
      const r = await runCli(["init", "--json"], { env: { ...defaults, ...env } });
      expect([name, r.code, r.json?.error?.code]).toEqual([name, 6, "CONFIG_ERROR"]);
      expect(r.json.error.message).toMatch(new RegExp(`^${name} is set but empty`));
    }
    const flag = await runCli(["init", "--json", "--schema", ""], { env: { ...defaults, SSELFIE_HOME: home } });
    expect([flag.code, flag.json?.error?.message]).toEqual([6, expect.stringMatching(/^--schema is set but empty/)]);
    expect(await readdir(root)).toEqual([]);
  }, 120_000);
});

describe("a home that cannot be used is exit 6 naming it and why, at once", () => {
  const unusable = (r: Awaited<ReturnType<typeof runCli>>, home: string, why: RegExp) => {
    expect([r.code, r.json?.error?.code], r.stderr).toEqual([6, "HOME_UNUSABLE"]);
    expect(r.json.error.message).toContain(home);
    expect(r.json.error.message).toMatch(why);
  };

  // As root, folder permissions do not stop anything: /sys refuses even root (EPERM).
  it.skipIf(!HAS_SYS)("a folder the kernel will not let sselfie make (under /sys)", async () => {
    const home = "/sys/sselfie-test-home";
    unusable(await runCli(["init", "--json"], { env: { SSELFIE_HOME: home } }), home, /permission denied \((EPERM|EACCES)\)/);
  });

  it.skipIf(IS_ROOT)("a parent folder without write permission (chmod 0500)", async () => {
    const parent = tempDir("sselfie-home-ro-");
    await chmod(parent, 0o500);
    try {
      const home = join(parent, "home");
      unusable(await runCli(["init", "--json"], { env: { SSELFIE_HOME: home } }), home, /permission denied \(EACCES\)/);
    } finally {
      await chmod(parent, 0o700);
    }
  });

  it("a file where the home or one of its parents should be", async () => {
    const file = join(tempDir("sselfie-home-file-"), "file");
    await writeFile(file, "not a folder");
    for (const home of [file, join(file, "home")]) {
      unusable(await runCli(["init", "--json"], { env: { SSELFIE_HOME: home } }), home, /is a file, not a folder \(ENOTDIR\)/);
    }
  });

  it.skipIf(!HAS_PROC)("a path under /proc fails within seconds instead of looping on mkdir", async () => {
    for (const home of ["/proc/x", "/proc/x/y/z"]) {
      const started = Date.now();
      const r = await runCli(["init", "--json"], { env: { SSELFIE_HOME: home }, timeoutMs: 20_000 });
      expect(Date.now() - started).toBeLessThan(10_000);
      unusable(r, home, /cannot be created there \(ENOENT\)/);
    }
  });

  describe.skipIf(!TEST_DATABASE_URL)("login with a server (the home holds only the config file)", () => {
    const backend = cliBackend("postgres");
    it("saves nowhere it cannot, with exit 6 naming the home, at once", async () => {
      const env = await backend.env();
      const token = await initAndGetAdminToken(env);
      const file = join(tempDir("sselfie-home-login-"), "file");
      await writeFile(file, "not a folder");
      const homes: Array<[string, RegExp, boolean]> = [
        [file, /is a file, not a folder \(ENOTDIR\)/, true],
        ["/proc/x", /cannot be created there \(ENOENT\)/, HAS_PROC],
        ["/sys/sselfie-test-home", /permission denied \((EPERM|EACCES)\)/, HAS_SYS],
      ];
      for (const [home, why, applies] of homes) {
        if (!applies) continue;
        const started = Date.now();
        const r = await runCli(["login", "--json", "--token", token], { env: { ...env, SSELFIE_HOME: home }, timeoutMs: 20_000 });
        expect(Date.now() - started).toBeLessThan(10_000);
        unusable(r, home, why);
      }
      // And where it can, the file is private.
      const home = join(tempDir("sselfie-home-login-ok-"), "home");
      await mkdir(home, { mode: 0o700 });
      const ok = await runCli(["login", "--json", "--token", token], { env: { ...env, SSELFIE_HOME: home }, umask: 0o000 });
      expect(ok.code, ok.stderr).toBe(0);
      expect(notPrivate(await modesUnder(home))).toEqual([]);
    }, 120_000);
  });
});
