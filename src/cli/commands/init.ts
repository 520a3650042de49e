import type { CliCommand } from "../command.js";

export const initCommand: CliCommand<Record<string, never>> = {
  scope: null,
  action: "init",
  parse: () => ({}),
  async run({ sselfie, out }) {
    const result = await sselfie.init();
    return {
      payload: { schemaVersion: result.schemaVersion, operator: result.operator },
      text: () => {
        const lines = [
          result.applied.length
            ? `${out.green("✓")} Database ready at schema version ${result.schemaVersion} (applied ${result.applied.join(", ")}).`
            : // A new embedded home arrives migrated (the pre-built database): new, not "already" there.
              result.operator
              ? `${out.green("✓")} Database ready at schema version ${result.schemaVersion}.`
              : `${out.green("✓")} Database already at schema version ${result.schemaVersion}.`,
        ];
        if (result.operator) {
          lines.push(
            "",
            `Created the first operator "${result.operator.name}" with scopes ${result.operator.scopes.join(", ")}.`,
            `Its token, shown only this once (store it safely):`,
            "",
            `  ${out.bold(result.operator.token)}`,
            "",
            `Save it with \`sselfie login\` (it asks for it, or reads it from a pipe), or set SSELFIE_TOKEN.`,
          );
        }
        return lines.join("\n");
      },
    };
  },
};
