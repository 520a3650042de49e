import { validateOperatorName, validateScopes } from "../../index.js";
import type { CliCommand } from "../command.js";

export const operatorsCreateCommand: CliCommand<{ name: string; scopes: string[] }> = {
  scope: "admin",
  action: "operators.create",
  parse: (o) => ({ name: validateOperatorName(o.name), scopes: validateScopes(String(o.scopes ?? "")) }),
  async run({ sselfie, principal, out }, o) {
    const created = await sselfie.operators.create(o, { actor: principal?.name ?? null });
    return {
      payload: created,
      text: () =>
        [
          `${out.green("✓")} Created operator "${created.name}" with scopes ${created.scopes.join(", ")}.`,
          "Its token, shown only this once:",
          "",
          `  ${out.bold(created.token)}`,
        ].join("\n"),
    };
  },
};

export const operatorsListCommand: CliCommand<Record<string, never>> = {
  scope: "admin",
  action: "operators.list",
  parse: () => ({}),
  async run({ sselfie, out }) {
    const operators = await sselfie.operators.list();
    return {
      payload: { operators },
      text: () => {
        const rows = operators.map((op) =>
          [
            op.name.padEnd(20),
            op.scopes.join(",").padEnd(24),
            op.revokedAt ? out.red(`revoked ${op.revokedAt}`) : `last used ${op.lastUsedAt ?? "never"}`,
          ].join(" "),
        );
        return [out.bold(`${"NAME".padEnd(20)} ${"SCOPES".padEnd(24)} STATE`), ...rows].join("\n");
      },
    };
  },
};

export const operatorsRevokeCommand: CliCommand<{ name: string }> = {
  scope: "admin",
  action: "operators.revoke",
  parse: (_o, args) => ({ name: validateOperatorName(args[0]) }),
  confirmation: (o) => `Revoke operator "${o.name}"? Its token stops working at once.`,
  async run({ sselfie, principal, out }, o) {
    const revoked = await sselfie.operators.revoke(o.name, { actor: principal?.name ?? null });
    return {
      payload: revoked,
      text: () => `${out.green("✓")} Revoked operator "${revoked.name}".`,
    };
  },
};
