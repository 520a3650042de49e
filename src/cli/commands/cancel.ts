import { validateUserId } from "../../index.js";
import type { CliCommand } from "../command.js";
import { describeStatus, statusPayload } from "./status.js";

export const cancelCommand: CliCommand<{ userId: string }> = {
  scope: "train",
  action: "cancel",
  parse: (o) => ({ userId: validateUserId(o.user) }),
  userId: (o) => o.userId,
  confirmation: (o) => `Cancel user ${o.userId}'s running training? Its compute so far is still billed.`,
  async run({ sselfie, principal, out }, o) {
    const result = await sselfie.trainings.cancel(o.userId, { actor: principal?.name ?? null });
    return { payload: statusPayload(result), text: () => describeStatus(result, out) };
  },
};
