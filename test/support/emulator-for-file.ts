import { afterAll, beforeAll, beforeEach } from "vitest";
import { startEmulator, type Emulator, type EmulatorOptions } from "./emulator/index.js";

/**
 * One emulator shared by a test file: started before its tests and closed after them, with its
 * request log and injected faults cleared before each test so that a test sees only its own traffic.
 * `started` runs once it is up: keep it in the file's variable there, and plant what every test uses.
 */
export function emulatorForFile(options: EmulatorOptions, started: (emulator: Emulator) => void | Promise<void>): void {
  let emulator: Emulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator(options);
    await started(emulator);
  });
  afterAll(async () => {
    await emulator?.close();
  });
  beforeEach(() => {
    emulator!.clearRequests();
    emulator!.clearFaults();
  });
}
