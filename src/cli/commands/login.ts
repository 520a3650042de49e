import { fstatSync } from "node:fs";
import { InvalidInputError, saveConfigFile } from "../../index.js";
import type { CliCommand } from "../command.js";

/**
 * Verifies a token (given with --token / SSELFIE_TOKEN, piped in, else asked for, masked) and
 * saves it to the config file with mode 0600.
 */
export const loginCommand: CliCommand<Record<string, never>> = {
  scope: null,
  action: "login",
  parse: () => ({}),
  async run({ sselfie, config, flags, out }) {
    let token = flags.token ?? config.token;
    if (!flags.token) {
      // A token piped in is what the user means now, over SSELFIE_TOKEN or the one saved before.
      if (stdinIsPipeOrFile()) {
        token = await readPipedToken();
      } else if (out.json || !process.stdin.isTTY) {
        if (!token) {
          throw new InvalidInputError(
            'No token to save: pipe it in (`printf %s "$TOKEN" | sselfie login`) or set SSELFIE_TOKEN in a non-interactive run.',
          );
        }
      } else {
        const { askSecret } = await import("../prompts.js");
        token = (await askSecret("Operator token")).trim();
      }
    }
    const principal = await sselfie.operators.authenticate({ token, scope: null, action: "login" });
    const path = await saveConfigFile(config.home, { token });
    return {
      payload: { name: principal.name, scopes: principal.scopes, configFile: path },
      text: () => `${out.green("✓")} Logged in as "${principal.name}" (${principal.scopes.join(", ")}); token saved to ${path}.`,
    };
  },
};

/** `printf %s "$T" | sselfie login` or `sselfie login < file`; never a terminal, socket or /dev/null. */
function stdinIsPipeOrFile(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile();
  } catch {
    return false;
  }
}

/** The first line of standard input (at most 4 KiB: a token is 54 characters). */
async function readPipedToken(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > 4096 || text.includes("\n")) break;
  }
  const token = text.split("\n")[0]!.trim();
  if (!token) throw new InvalidInputError("No token to save: standard input was empty.");
  return token;
}
