import { chmod, mkdir, writeFile } from "node:fs/promises";
import { configFilePath, InvalidInputError, readConfigFile } from "../../index.js";
import type { CliCommand } from "../command.js";

/**
 * Verifies a token (given with --token / SSELFIE_TOKEN, else asked for, masked) and saves it to
 * the config file with mode 0600.
 */
export const loginCommand: CliCommand<Record<string, never>> = {
  scope: null,
  action: "login",
  parse: () => ({}),
  async run({ sselfie, config, flags, out }) {
    let token = flags.token ?? config.token;
    if (!flags.token) {
      if (out.json || !process.stdin.isTTY) {
        if (!token) throw new InvalidInputError("No token to save: pass --token (or SSELFIE_TOKEN) in a non-interactive run.");
      } else {
        const { askSecret } = await import("../prompts.js");
        token = (await askSecret("Operator token")).trim();
      }
    }
    const principal = await sselfie.operators.authenticate({ token, scope: null, action: "login" });
    const path = configFilePath(config.home);
    await mkdir(config.home, { recursive: true, mode: 0o700 });
    const next = { ...readConfigFile(config.home), token };
    await writeFile(path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
    return {
      payload: { name: principal.name, scopes: principal.scopes, configFile: path },
      text: () => `${out.green("✓")} Logged in as "${principal.name}" (${principal.scopes.join(", ")}); token saved to ${path}.`,
    };
  },
};
