import { stat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, runCli } from "../support/cli.js";
import { forEachCliBackend, initAndGetAdminToken } from "../support/cli-env.js";

forEachCliBackend((backend) => {
  it("init creates one admin once; a second init creates none", async () => {
    const env = await backend.env();
    const first = await runCli(["init", "--json"], { env });
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ schemaVersion: expect.any(Number), operator: { name: "admin", scopes: ["admin"] } });
    expect(first.json.operator.token).toMatch(/^sselfie_[0-9A-Za-z]{46}$/);
    const second = await runCli(["init", "--json"], { env });
    expect(second.code).toBe(0);
    expect(second.json).toEqual({ schemaVersion: first.json.schemaVersion, operator: null });
  });

  it("operators create, list and revoke, with tokens that work until revoked", async () => {
    const env = await backend.env();
    const admin = await initAndGetAdminToken(env);
    const created = await runCli(["operators", "create", "--name", "ci", "--scopes", "read", "--json", "--token", admin], { env });
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ name: "ci", scopes: ["read"] });
    const ciToken = created.json.token as string;
    expect(ciToken).not.toBe(admin);

    const list = await runCli(["operators", "list", "--json"], { env: { ...env, SSELFIE_TOKEN: admin } });
    expect(list.code).toBe(0);
    expect(list.json.operators.map((o: { name: string }) => o.name)).toEqual(["admin", "ci"]);
    const adminRow = list.json.operators[0];
    expect(adminRow.lastUsedAt).not.toBeNull();
    expect(Object.keys(adminRow).sort()).toEqual(["createdAt", "lastUsedAt", "name", "revokedAt", "scopes"]);

    // A read token may not administer operators: exit 3, FORBIDDEN.
    const forbidden = await runCli(["operators", "list", "--json", "--token", ciToken], { env });
    expect(forbidden.code).toBe(3);
    expect(forbidden.json.error.code).toBe("FORBIDDEN");

    // Revoking needs confirmation when not interactive.
    const unconfirmed = await runCli(["operators", "revoke", "ci", "--json", "--token", admin], { env });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.json.error.code).toBe("CONFIRMATION_REQUIRED");
    const last = await runCli(["operators", "revoke", "admin", "--yes", "--json", "--token", admin], { env });
    expect(last.code).toBe(4);
    expect(last.json.error.code).toBe("LAST_ADMIN");
    const revoked = await runCli(["operators", "revoke", "ci", "--yes", "--json", "--token", admin], { env });
    expect(revoked.code).toBe(0);
    expect(revoked.json.revokedAt).toEqual(expect.any(String));

    const afterRevoke = await runCli(["audit", "--all", "--json", "--token", ciToken], { env });
    expect(afterRevoke.code).toBe(3);
    expect(afterRevoke.json.error.code).toBe("UNAUTHENTICATED");
    expect(afterRevoke.json.error.message).toMatch(/revoked/);
  });

  it("refuses missing, malformed and unknown tokens with exit 3 and no stack trace", async () => {
    const env = await backend.env();
    const admin = await initAndGetAdminToken(env);
    const cases: Array<[string[], string]> = [
      [[], "UNAUTHENTICATED"],
      [["--token", "not-a-token"], "UNAUTHENTICATED"],
      // Right shape and checksum style but never issued.
      [["--token", `${admin.slice(0, -8)}AAAAAAAA`], "UNAUTHENTICATED"],
    ];
    for (const [extra, code] of cases) {
      const r = await runCli(["operators", "list", "--json", ...extra], { env });
      expect(r.code).toBe(3);
      expect(r.json.error.code).toBe(code);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const text = await runCli(["operators", "list"], { env });
    expect(text.code).toBe(3);
    expect(text.stdout).toBe("");
    expect(text.stderr).toMatch(/No operator token/);
    expect(text.stderr).not.toMatch(/\n\s+at /);
  });

  it("login verifies the token and saves it with mode 0600", async () => {
    const env = await backend.env();
    const admin = await initAndGetAdminToken(env);
    const bad = await runCli(["login", "--json", "--token", "sselfie_nope"], { env });
    expect(bad.code).toBe(3);
    const ok = await runCli(["login", "--json", "--token", admin], { env });
    expect(ok.code).toBe(0);
    const path = join(env.SSELFIE_HOME!, "config.json");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8")).token).toBe(admin);
    // The saved token is used when no flag or env gives one.
    const list = await runCli(["operators", "list", "--json"], { env });
    expect(list.code).toBe(0);
  });

  it("login reads a token piped in (never from the process list), and refuses an empty pipe", async () => {
    const env = await backend.env();
    const admin = await initAndGetAdminToken(env);
    const viaShell = (stdin: string) =>
      runCli(["-c", `printf %s "$PIPED" | exec "${process.execPath}" "${BIN}" login --json`], { env: { ...env, PIPED: stdin }, command: "sh" });
    const empty = await viaShell("");
    expect([empty.code, empty.json.error.code]).toEqual([2, "INVALID_INPUT"]);
    const ok = await viaShell(`${admin}\n`);
    expect(ok.code).toBe(0);
    expect(ok.json.name).toBe("admin");
    expect(JSON.parse(await readFile(join(env.SSELFIE_HOME!, "config.json"), "utf8")).token).toBe(admin);
  });
});

describe("usage and configuration errors", () => {
  it("an unknown flag is exit 2 with a JSON error", async () => {
    const r = await runCli(["operators", "list", "--bogus", "--json"], { env: { SSELFIE_HOME: "/nonexistent" } });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe("INVALID_USAGE");
    expect(r.json.error.message).toMatch(/--bogus/);
  });

  it("an unknown command is exit 2", async () => {
    const r = await runCli(["frobnicate"], { env: { SSELFIE_HOME: "/nonexistent" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/frobnicate/);
  });

  it("--version and --help exit 0", async () => {
    const v = await runCli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    for (const cmd of ["train", "status", "cancel", "generate", "audit", "init", "login"]) {
      const h = await runCli([cmd, "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/Examples:\n\s+\$ sselfie /);
    }
  });

  it("a malformed DATABASE_URL is exit 6 without echoing the password", async () => {
    const r = await runCli(["init", "--json"], {
      env: { SSELFIE_HOME: "/tmp/sselfie-unused", DATABASE_URL: "postgres://u:s3cret@[bad/db" },
    });
    expect(r.code).toBe(6);
    expect(r.stdout).not.toContain("s3cret");
    expect(r.stderr).not.toContain("s3cret");
  });

  it("an unreachable server is exit 6 with no stack trace", async () => {
    const r = await runCli(["init"], {
      env: { SSELFIE_HOME: "/tmp/sselfie-unused", DATABASE_URL: "postgres://u:s3cret@127.0.0.1:1/db" },
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/127\.0\.0\.1:1/);
    expect(r.stderr).not.toContain("s3cret");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)("a command on an uninitialised server schema says to run init (exit 6)", async () => {
    const r = await runCli(["operators", "list", "--json", "--token", "x"], {
      env: { SSELFIE_HOME: "/tmp/sselfie-unused", DATABASE_URL: process.env.TEST_DATABASE_URL, SSELFIE_SCHEMA: "never_initialised" },
    });
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe("NOT_INITIALISED");
  });
});
