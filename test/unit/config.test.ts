/** loadConfig's messages for URL settings: one sentence per setting, whatever is wrong with the value. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { loadConfig, readConfigFile } from "../../src/config.js";

const home = mkdtempSync(join(tmpdir(), "sselfie-config-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function configError(env: Record<string, string>): string {
  try {
    loadConfig({}, { SSELFIE_HOME: home, ...env });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("loadConfig accepted it");
}

it.each([
  ["REPLICATE_BASE_URL", "nope"],
  ["REPLICATE_BASE_URL", "ftp://files.example.com/v1"],
  ["REPLICATE_BASE_URL", "https://"],
  ["SSELFIE_WEBHOOK_URL", "hooks.example.com/webhooks/replicate"],
  ["SSELFIE_WEBHOOK_URL", "ftp://hooks.example.com/webhooks/replicate"],
])("%s=%s is refused in a single sentence", (name, value) => {
  expect(configError({ [name]: value })).toBe(`Invalid configuration: ${name} must be an http(s) URL (e.g. https://example.com/path)`);
});

it("takes http and https URLs", () => {
  const config = loadConfig({}, { SSELFIE_HOME: home, REPLICATE_BASE_URL: "http://127.0.0.1:8787/v1", SSELFIE_WEBHOOK_URL: "https://hooks.example.com/webhooks/replicate" });
  expect(config.replicateBaseUrl).toBe("http://127.0.0.1:8787/v1");
  expect(config.webhookUrl).toBe("https://hooks.example.com/webhooks/replicate");
});

it("createSselfie refuses a webhookUrl that is not http(s), before opening anything", async () => {
  const { createSselfie } = await import("../../src/sselfie.js");
  for (const webhookUrl of ["nope", "ftp://hooks.example.com/x", ""]) {
    await expect(createSselfie({ database: false, webhookUrl })).rejects.toMatchObject({
      code: "CONFIG_ERROR",
      message: expect.stringContaining("must be an http(s) URL"),
    });
  }
  const ok = await createSselfie({ database: false, webhookUrl: "https://hooks.example.com/webhooks/replicate" });
  await ok.close();
});

it("reports every setting that breaks its rule, in one message, and converts the timeout to milliseconds", () => {
  expect(configError({ SSELFIE_SCHEMA: "Bad-Name", SSELFIE_PRICE_PER_SECOND: "2", SSELFIE_REPLICATE_TIMEOUT: "0.01", DATABASE_URL: "mysql://x" })).toBe(
    "Invalid configuration: --database-url / DATABASE_URL must start with postgres:// or postgresql://; " +
      "--schema / SSELFIE_SCHEMA must be a lowercase SQL identifier (letters, digits, _); " +
      "SSELFIE_PRICE_PER_SECOND must be a decimal price in USD per second above 0 and at most 1 (e.g. 0.001525); " +
      "SSELFIE_REPLICATE_TIMEOUT must be between 0.1 and 600 seconds",
  );
  expect(configError({ SSELFIE_REPLICATE_TIMEOUT: "soon", REPLICATE_OWNER: "-x" })).toBe(
    "Invalid configuration: REPLICATE_OWNER must be a Replicate account or organisation name; SSELFIE_REPLICATE_TIMEOUT must be a number of seconds",
  );
  const config = loadConfig({}, { SSELFIE_HOME: home, SSELFIE_REPLICATE_TIMEOUT: "1.5", SSELFIE_SCHEMA: "app_1" });
  expect([config.replicateTimeoutMs, config.schema, config.pricePerSecond, Object.isFrozen(config)]).toEqual([1500, "app_1", "0.001525", true]);
});

it("refuses a config file that holds anything but its known keys as strings, naming each problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "sselfie-config-file-"));
  try {
    const path = join(dir, "config.json");
    for (const [text, problems] of [
      [`{"token": 1, "colour": "red"}`, `token must be a string, not a number; unknown key "colour" (it may hold token, databaseUrl, schema, replicateOwner, replicateBaseUrl)`],
      [`["sselfie_x"]`, "it must hold a JSON object, not an array"],
      [`{"databaseUrl": null}`, "databaseUrl must be a string, not null"],
    ] as const) {
      writeFileSync(path, text);
      expect(() => readConfigFile(dir)).toThrow(`The config file ${path} is invalid: ${problems}.`);
    }
    writeFileSync(path, `{"token": "sselfie_x", "schema": "app"}`);
    expect(readConfigFile(dir)).toEqual({ token: "sselfie_x", schema: "app" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
