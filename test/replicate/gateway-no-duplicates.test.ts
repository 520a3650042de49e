/**
 * A create that may have happened is never repeated: the gateway says REPLICATE_OUTCOME_UNKNOWN and
 * the caller reconciles. What reached the emulator is the proof.
 */
import { describe, expect, it } from "vitest";
import { caught } from "../support/caught.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/types.js";
import { delay, gatewayFor, trainingParams } from "./gateway-helpers.js";

let emu: Emulator;
let destination: string;
let versionRef: string;
const TRAININGS = /\/v1\/models\/ostris\/flux-dev-lora-trainer\/versions\/[0-9a-f]+\/trainings$/;

emulatorForFile({}, (started) => {
  emu = started;
  destination = `${emu.owner}/dup-dest`;
  emu.createModel(destination, { visibility: "private" });
  versionRef = `${destination}:${emu.createVersion(destination)}`;
});

describe("createTraining", () => {
  it("crash after create: exactly one training exists, one POST was sent, OUTCOME_UNKNOWN", async () => {
    const gw = gatewayFor(emu);
    const before = emu.trainings.size;
    emu.inject({ kind: "crash-after-create", method: "POST", path: TRAININGS });
    const err = await caught(gw.createTraining(trainingParams(destination, { trigger_word: "crash1" })));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(emu.requestsTo("POST", TRAININGS)).toHaveLength(1);
    expect(emu.trainings.size).toBe(before + 1);
    expect(gw.waits).toEqual([]);
  });

  it("5xx on create: not repeated, OUTCOME_UNKNOWN with the status", async () => {
    const gw = gatewayFor(emu);
    const before = emu.trainings.size;
    emu.inject({ kind: "status", method: "POST", path: TRAININGS, status: 503, body: { detail: "Service Unavailable", status: 503 } });
    const err = await caught(gw.createTraining(trainingParams(destination)));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.status).toBe(503);
    expect(emu.requestsTo("POST", TRAININGS)).toHaveLength(1);
    expect(emu.trainings.size).toBeLessThanOrEqual(before + 1);
  });

  it("dropped connection on create: not repeated", async () => {
    const gw = gatewayFor(emu);
    emu.inject({ kind: "drop", method: "POST", path: TRAININGS });
    const err = await caught(gw.createTraining(trainingParams(destination)));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(emu.requestsTo("POST", TRAININGS)).toHaveLength(1);
  });

  it("timeout on create: not repeated, at most one training even after the slow answer", async () => {
    const gw = gatewayFor(emu, { timeoutMs: 200 });
    const before = emu.trainings.size;
    emu.inject({ kind: "delay", method: "POST", path: TRAININGS, ms: 600 });
    const err = await caught(gw.createTraining(trainingParams(destination)));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.message).toMatch(/timed out after 200 ms/);
    await delay(700);
    expect(emu.requestsTo("POST", TRAININGS)).toHaveLength(1);
    expect(emu.trainings.size).toBeLessThanOrEqual(before + 1);
  });

  it("a clean create still works and returns a parsed training", async () => {
    const gw = gatewayFor(emu);
    const training = await gw.createTraining(trainingParams(destination));
    expect(training.status).toBe("starting");
    expect(emu.trainings.get(training.id)?.destination).toBe(destination);
  });
});

describe("createPrediction", () => {
  it("crash after create: exactly one prediction exists, one POST was sent, OUTCOME_UNKNOWN", async () => {
    const gw = gatewayFor(emu);
    const before = emu.predictions.size;
    emu.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
    const err = await caught(gw.createPrediction({ version: versionRef, input: { prompt: "x" } }));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(emu.requestsTo("POST", "/v1/predictions")).toHaveLength(1);
    expect(emu.predictions.size).toBe(before + 1);
  });

  it("500 on create: not repeated", async () => {
    const gw = gatewayFor(emu);
    const before = emu.predictions.size;
    emu.inject({ kind: "status", method: "POST", path: "/v1/predictions", status: 500 });
    const err = await caught(gw.createPrediction({ version: versionRef, input: { prompt: "x" } }));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.status).toBe(500);
    expect(emu.requestsTo("POST", "/v1/predictions")).toHaveLength(1);
    expect(emu.predictions.size).toBeLessThanOrEqual(before + 1);
  });
});

describe("model create", () => {
  it("ensurePrivateModel settles a crash after create by looking, without a second model", async () => {
    const gw = gatewayFor(emu);
    emu.inject({ kind: "crash-after-create", method: "POST", path: "/v1/models" });
    const { model, created } = await gw.ensurePrivateModel(emu.owner, "crash-model");
    expect(model).toMatchObject({ owner: emu.owner, name: "crash-model", visibility: "private" });
    expect(created).toBe(true);
    expect(emu.requestsTo("POST", "/v1/models")).toHaveLength(1);
    expect([...emu.models.keys()].filter((k) => k === `${emu.owner}/crash-model`)).toHaveLength(1);
  });
});
