import { validateAddOwner, validateOwnerName, type AddOwnerParams, type Owner } from "../../index.js";
import type { CliCommand } from "../command.js";
import type { Output } from "../output.js";
import { count } from "../plural.js";

function ownerLine(out: Output, o: Owner): string {
  const state = o.full ? out.red("full at Replicate") : o.status === "draining" ? out.yellow("draining") : out.green("active");
  return [
    o.name.padEnd(24),
    (o.implicit ? `${o.tokenEnv} (implicit)` : o.tokenEnv).padEnd(34),
    String(o.used).padStart(7),
    String(o.capacity).padStart(9),
    String(o.free).padStart(7),
    ` ${state}`,
  ].join(" ");
}

export const ownersAddCommand: CliCommand<Required<AddOwnerParams>> = {
  scope: "admin",
  action: "owners.add",
  parse: (o, args) => validateAddOwner({ name: args[0] as string, tokenEnv: o.tokenEnv as string, capacity: o.capacity as number | undefined }),
  async run({ sselfie, principal, out }, o) {
    const owner = await sselfie.owners.add(o, { actor: principal!.name });
    return {
      payload: owner,
      text: () =>
        [
          `${out.green("✓")} Added owner ${out.bold(owner.name)}: up to ${count(owner.capacity, "user")}, token read from ${owner.tokenEnv}.`,
          `New users are placed on added owners only; users already placed keep their owner.`,
          `Every process that serves this owner's users needs ${owner.tokenEnv} in its environment.`,
        ].join("\n"),
    };
  },
};

export const ownersListCommand: CliCommand<Record<string, never>> = {
  scope: "admin",
  action: "owners.list",
  parse: () => ({}),
  async run({ sselfie, out }) {
    const owners = await sselfie.owners.list();
    return {
      payload: { owners },
      text: () =>
        [
          out.bold(`${"OWNER".padEnd(24)} ${"TOKEN FROM".padEnd(34)} ${"USED".padStart(7)} ${"CAPACITY".padStart(9)} ${"FREE".padStart(7)}  STATUS`),
          ...owners.map((o) => ownerLine(out, o)),
        ].join("\n"),
    };
  },
};

export const ownersDrainCommand: CliCommand<{ name: string }> = {
  scope: "admin",
  action: "owners.drain",
  parse: (_o, args) => ({ name: validateOwnerName(args[0]) }),
  async run({ sselfie, principal, out }, o) {
    const owner = await sselfie.owners.drain(o, { actor: principal!.name });
    return {
      payload: owner,
      text: () => `${out.green("✓")} Owner ${owner.name} is draining: it keeps its ${count(owner.used, "user")} and gets no new ones.`,
    };
  },
};
