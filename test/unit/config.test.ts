/** loadConfig's messages for URL settings: one sentence per setting, whatever is wrong with the value. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

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
