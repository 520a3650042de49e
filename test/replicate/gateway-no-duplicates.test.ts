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
    // The fault answers before the handler runs: this attempt creates nothing, a repeat would create one.
    emu.inject({ kind: "status", method: "POST", path: TRAININGS, status: 503, body: { detail: "Service Unavailable", status: 503 } });
    const err = await caught(gw.createTraining(trainingParams(destination)));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.status).toBe(503);
    expect(emu.requestsTo("POST", TRAININGS).map((r) => r.status)).toEqual([503]);
    expect(emu.trainings.size).toBe(before);
  });

  it("dropped connection on create: not repeated", async () => {
    const gw = gatewayFor(emu);
    const before = emu.trainings.size;
    emu.inject({ kind: "drop", method: "POST", path: TRAININGS });
    const err = await caught(gw.createTraining(trainingParams(destination)));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(emu.requestsTo("POST", TRAININGS)).toHaveLength(1);
    expect(emu.trainings.size).toBe(before);
  });

  it("timeout on create: not repeated, no training even after the slow answer's time", async () => {
    const gw = gatewayFor(emu, { timeoutMs: 200 });
    const before = emu.trainings.size;
    // The delay holds the request before the handler; the abandoned attempt never reaches it, and a
    // repeat (the fault is spent) would create a training at once.
    emu.inject({ kind: "delay", method: "POST", path: TRAININGS, ms: 600 });
    const err = await caught(gw.createTraining(trainingParams(destination)));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.message).toMatch(/timed out after 200 ms/);
    await delay(700);
    expect(emu.requestsTo("POST", TRAININGS)).toHaveLength(1);
    expect(emu.trainings.size).toBe(before);
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
    expect(emu.requestsTo("POST", "/v1/predictions").map((r) => r.status)).toEqual([500]);
    expect(emu.predictions.size).toBe(before);
  });
});

describe("model create", () => {
  it("ensurePrivateModel settles a crash after create by looking, without a second model", async () => {
    const gw = gatewayFor(emu);
    emu.inject({ kind: "crash-after-create", method: "POST", path: "/v1/models" });
    const { model, created } = await gw.ensurePrivateModel(emu.owner, "crash-model");
    expect(model).toMatchObject({ owner: emu.owner, name: "crash-model", visibility: "private" });
    expect(created).toBe(true);
    // One create reached the handler; a second would have been answered 409.
    expect(emu.requestsTo("POST", "/v1/models").map((r) => r.status)).toEqual([201]);
    expect(emu.requestsTo("GET", `/v1/models/${emu.owner}/crash-model`).map((r) => r.status)).toEqual([404, 200]);
  });
});
