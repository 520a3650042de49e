/** A webhook delivery verifies against the secret of the owner of the object it names. */
import { expect, it } from "vitest";
import { generate } from "../../src/generation/generate.js";
import { addOwner } from "../../src/owners/owners.js";
import { refreshTraining, startTraining } from "../../src/training/index.js";
import { handleReplicateWebhook } from "../../src/webhooks/index.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { signWebhook } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { ACCOUNTS, TOKENS, tokenEnvOf, ownersTestBed } from "./owners-support.js";

const bed = ownersTestBed();

/** The object as its owner reads it, signed with `secretOf`'s secret. */
async function delivery(kind: "trainings" | "predictions", id: string, reader: string, secretOf: string, n: number) {
  const token = ACCOUNTS.find((a) => a.username === reader)!.token;
  const body = await (await fetch(`${bed.emu.url}/${kind}/${id}`, { headers: { authorization: `Bearer ${token}` } })).text();
  const timestamp = String(Math.floor(bed.emu.now() / 1000));
  const webhookId = `msg_${kind}_${secretOf}_${n}`;
  return {
    headers: { "webhook-id": webhookId, "webhook-timestamp": timestamp, "webhook-signature": signWebhook(bed.emu.webhookSecretOf(secretOf), webhookId, timestamp, body) },
    rawBody: body,
    now: bed.emu.now(),
  };
}

forEachBackend((backend) => {
  it("trainings and predictions are verified with their owner's secret, fetched with their owner's token", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, bed.emu, { tokens: TOKENS });
    await addOwner(ctx, { name: "bob", tokenEnv: tokenEnvOf("bob"), capacity: 1 });
    await addOwner(ctx, { name: "carol", tokenEnv: tokenEnvOf("carol"), capacity: 1 });
    const onBob = await startTraining(ctx, "op", { userId: "u1", images: bed.images });
    const onCarol = await startTraining(ctx, "op", { userId: "u2", images: bed.images });
    expect([onBob.modelId, onCarol.modelId]).toEqual(["bob/u1-selfie-lora", "carol/u2-selfie-lora"]);

    bed.emu.clearRequests();
    // Signed by another account (the implicit owner, or carol): refused.
    for (const other of ["alice", "carol"]) {
      const err = await caught(handleReplicateWebhook(ctx, await delivery("trainings", onBob.trainingId, "bob", other, 1)));
      expect(err.code).toBe("WEBHOOK_SIGNATURE_INVALID");
    }
    expect(await handleReplicateWebhook(ctx, await delivery("trainings", onBob.trainingId, "bob", "bob", 2))).toMatchObject({
      handled: true,
      kind: "training",
      id: onBob.trainingId,
    });
    // bob's secret, read once with bob's token.
    expect(bed.emu.requestsTo("GET", "/v1/webhooks/default/secret").map((r) => r.account)).toEqual(["bob"]);

    // A prediction of carol's user.
    bed.emu.finishTraining(onCarol.trainingId, "succeeded");
    await refreshTraining(ctx, "op", "u2");
    const made = await generate(ctx, "op", { userId: "u2", prompt: "useru2 at the sea", outDir: tempDir("sselfie-owners-webhook-") });
    expect((await caught(handleReplicateWebhook(ctx, await delivery("predictions", made.predictionId, "carol", "bob", 3)))).code).toBe(
      "WEBHOOK_SIGNATURE_INVALID",
    );
    expect(await handleReplicateWebhook(ctx, await delivery("predictions", made.predictionId, "carol", "carol", 4))).toMatchObject({
      handled: true,
      kind: "prediction",
    });
  });
});
