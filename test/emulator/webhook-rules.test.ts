/** The emulator's webhook rules: drop a delivery, deliver it late (optionally stale), repeat it with the same id. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Emulator, startEmulator, verifyWebhook } from "../support/emulator/index.js";
import { createModel, createTraining, eventually } from "./helpers.js";

let emu: Emulator;
let receiver: Server;
let hookUrl: string;
const received: { at: number; id: string; timestamp: number; event: string }[] = [];

beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 30, processingMs: 100 }, webhookRetryDelaysMs: [20] });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const h = req.headers as Record<string, string>;
      expect(verifyWebhook(emu.webhookSecret, h["webhook-id"]!, h["webhook-timestamp"]!, body, h["webhook-signature"]!)).toBe(true);
      received.push({ at: Date.now(), id: h["webhook-id"]!, timestamp: Number(h["webhook-timestamp"]), event: String(JSON.parse(body).status) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await emu.close();
  await new Promise((r) => receiver.close(r));
});

async function trainingWith(rules: Parameters<Emulator["interceptWebhooks"]>[0][]): Promise<string> {
  received.length = 0;
  emu.clearWebhookRules();
  for (const rule of rules) emu.interceptWebhooks(rule);
  const dest = await createModel(emu, `rules${Math.random().toString(36).slice(2, 8)}`);
  const created = await createTraining(emu, dest, {}, { webhook: hookUrl, webhook_events_filter: ["start", "completed"] });
  const id = created.json.id as string;
  await eventually(() => emu.trainings.get(id)!.status === "succeeded" || undefined);
  await emu.waitForWebhooks();
  return id;
}

it("drop: the delivery is logged with status 0 and never reaches the receiver; the others still do", async () => {
  const id = await trainingWith([{ event: "completed", action: "drop" }]);
  const log = emu.webhookDeliveries.filter((d) => d.jobId === id);
  expect(log.map((d) => [d.event, d.status, d.rule])).toEqual([["start", 204, undefined], ["completed", 0, "drop"]]);
  expect(received.map((r) => r.event)).toEqual(["starting"]);
});

it("late with keepTimestamp: sent after the delay, signed with the time it was due", async () => {
  const id = await trainingWith([{ event: "completed", action: "late", delayMs: 1_500, keepTimestamp: true }]);
  const done = emu.trainings.get(id)!.completedAt!;
  const completed = received.find((r) => r.event === "succeeded")!;
  expect(completed.at - done).toBeGreaterThanOrEqual(1_400);
  expect(Math.abs(completed.timestamp * 1000 - done)).toBeLessThan(1_100);
  expect(emu.webhookDeliveries.find((d) => d.jobId === id && d.event === "completed")).toMatchObject({ rule: "late", status: 204 });
});

it("repeat: a delivered webhook is sent again with the same id and body", async () => {
  const id = await trainingWith([{ event: "completed", action: "repeat", count: 2 }]);
  const completed = received.filter((r) => r.event === "succeeded");
  expect(completed).toHaveLength(3);
  expect(new Set(completed.map((r) => r.id)).size).toBe(1);
  expect(emu.webhookDeliveries.filter((d) => d.jobId === id && d.event === "completed").map((d) => d.attempt)).toEqual([1, 2, 3]);
});
