/**
 * Builds the SselfieContext that use-cases receive, for SDK tests: a real database and the real
 * gateway pointed at the Replicate emulator over HTTP.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SselfieContext } from "../../src/context.js";
import type { Database } from "../../src/db/types.js";
import { createReplicateGateway, type ReplicateGateway } from "../../src/replicate/index.js";

export interface TestContextOptions {
  owner?: string;
  webhookUrl?: string;
  /** Overrides for the gateway (e.g. a recording sleep). */
  gateway?: Record<string, unknown>;
}

export function makeContext(
  db: Database,
  emulator: { url: string; token: string; owner: string },
  opts: TestContextOptions = {},
): SselfieContext & { gateway: ReplicateGateway } {
  const gateway = createReplicateGateway({
    apiToken: emulator.token,
    baseUrl: emulator.url,
    timeoutMs: 10_000,
    ...opts.gateway,
  });
  return {
    db,
    gateway,
    webhookUrl: opts.webhookUrl,
    tmpDir: mkdtempSync(join(tmpdir(), "sselfie-test-")),
    replicate: async () => gateway,
    owner: async () => opts.owner ?? emulator.owner,
  };
}
