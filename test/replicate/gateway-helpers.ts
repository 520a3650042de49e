/** Shared set-up for the gateway tests: an emulator and a gateway whose waits are recorded. */
import { TRAINER_NAME, TRAINER_OWNER, TRAINER_VERSION } from "../../src/locked.js";
import { createReplicateGateway, type ReplicateGateway, type ReplicateGatewayOptions } from "../../src/replicate/index.js";
import type { Emulator } from "../support/emulator/types.js";

export const HEX64 = /^[0-9a-f]{64}$/;

export interface RecordedSleep {
  sleep: (ms: number) => Promise<void>;
  waits: number[];
}

/** Records every wait and returns at once, so retry tests do not spend real time. */
export function recordingSleep(): RecordedSleep {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}

export function gatewayFor(
  emulator: Pick<Emulator, "url" | "token">,
  overrides: Partial<ReplicateGatewayOptions> = {},
): ReplicateGateway & { waits: number[] } {
  const recorder = recordingSleep();
  const gateway = createReplicateGateway({
    apiToken: emulator.token,
    baseUrl: emulator.url,
    timeoutMs: 5_000,
    sleep: recorder.sleep,
    ...overrides,
  });
  return Object.assign(gateway, { waits: recorder.waits });
}

/** The trainer every test trains with, and a destination model that exists. */
export const TRAINER = { trainerOwner: TRAINER_OWNER, trainerName: TRAINER_NAME, trainerVersion: TRAINER_VERSION };

export function trainingParams(destination: string, extra: Record<string, unknown> = {}) {
  return {
    ...TRAINER,
    destination,
    input: { input_images: "https://example.com/images.zip", trigger_word: "user42", steps: 100, ...extra },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
