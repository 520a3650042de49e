/**
 * Every `sselfie` command line shown in README.md's shell blocks names a real command, and every
 * flag it passes is one that command's --help lists (or a global option): the README is the first
 * thing a new user copies from. No example gives the operator token as --token (shell history).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runCli } from "../support/cli.js";

const README = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");

/** `sselfie ...` invocations in ```sh blocks, with `npx ` or an env prefix, up to a comment or redirection. */
function readmeInvocations(): string[][] {
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.split("\n"))
    .map((line) => /(?:^|\s|;\s*)(?:npx )?sselfie (.*)$/.exec(line.replace(/\s+#.*$/, ""))?.[1])
    .filter((rest): rest is string => rest !== undefined)
    .map((rest) => (rest.split(/\s*(?:>|\||;|&&)\s*/)[0]!.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^\[|\]$/g, "")));
}

it("every sselfie line in README's shell blocks runs a real command with flags it accepts", async () => {
  const lines = readmeInvocations();
  expect(lines.length).toBeGreaterThan(25);
  const globalHelp = (await runCli(["--help"])).stdout;
  const helps = new Map<string, string>();
  const problems: string[] = [];
  for (const words of lines) {
    const command = words.filter((w) => !w.startsWith("-") && !w.startsWith('"'));
    const top = command[0]!;
    if (!/^[a-z]+$/.test(top)) continue;
    let path = [top];
    let help = helps.get(top) ?? (await runCli([top, "--help"])).stdout;
    helps.set(top, help);
    const sub = command[1];
    if (sub && /^[a-z]+$/.test(sub) && new RegExp(`\\n {2}${sub}\\b`).test(help.split("Commands:")[1] ?? "")) {
      path = [top, sub];
      help = helps.get(path.join(" ")) ?? (await runCli([...path, "--help"])).stdout;
      helps.set(path.join(" "), help);
    }
    if (!help.startsWith(`Usage: sselfie ${path.join(" ")} `)) problems.push(`${words.join(" ")}: no command ${path.join(" ")}`);
    for (const flag of words.filter((w) => /^--?[a-z]/.test(w)).map((w) => w.replace(/=.*$/, ""))) {
      if (flag === "--token") problems.push(`${words.join(" ")}: gives --token`);
      else if (!new RegExp(`(^|[\\s,])${flag}\\b`).test(help) && !new RegExp(`(^|[\\s,])${flag}\\b`).test(globalHelp)) {
        problems.push(`${words.join(" ")}: ${path.join(" ")} has no ${flag}`);
      }
    }
  }
  expect(problems).toEqual([]);
});
