/**
 * Builds the SselfieContext that use-cases receive, for SDK tests: a real database and the real
 * per-owner gateways pointed at the Replicate emulator over HTTP. The emulator's first account is
 * the implicit owner (REPLICATE_API_TOKEN); `tokens` gives added owners' tokens by variable name.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SselfieContext } from "../../src/context.js";
import type { Database } from "../../src/db/types.js";
import { createOwnerGateways } from "../../src/owners/owner-gateways.js";
import { createGatewayPool, type ReplicateGateway } from "../../src/replicate/index.js";

export interface TestContextOptions {
  /** The implicit owner (REPLICATE_OWNER); default the emulator's first account. */
  owner?: string;
  webhookUrl?: string;
  /** Overrides for every gateway (e.g. a recording sleep). */
  gateway?: Record<string, unknown>;
  /** Added owners' tokens, by the variable name their rows record. */
  tokens?: Record<string, string>;
  /** Face checks on the photo sets (real photos needed); off unless a test is about them. */
  identityCheck?: boolean;
}

export function makeContext(
  db: Database,
  emulator: { url: string; token: string; owner: string },
  opts: TestContextOptions = {},
): SselfieContext & { gateway: ReplicateGateway } {
  const pool = createGatewayPool({ baseUrl: emulator.url, timeoutMs: 10_000, ...opts.gateway });
  return {
    db,
    // The implicit owner's gateway: the one its users' calls go through.
    gateway: pool.forToken(emulator.token),
    webhookUrl: opts.webhookUrl,
    tmpDir: mkdtempSync(join(tmpdir(), "sselfie-test-")),
    ...createOwnerGateways(db, {
      replicateApiToken: emulator.token,
      replicateOwner: opts.owner ?? emulator.owner,
      tokens: opts.tokens,
      pool,
    }),
    identityCheck: opts.identityCheck ?? false,
  };
}
