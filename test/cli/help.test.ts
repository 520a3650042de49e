/**
 * `--help` of the built CLI: every command, subcommand and group shows examples, and the
 * environment the top-level help lists is exactly the environment of README.md's configuration table.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runCli } from "../support/cli.js";

const README = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");

/** The names under "Commands:" of a help text (without commander's own `help`). */
function commandsOf(help: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? "";
  return section
    .split("\n")
    .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
    .filter((name): name is string => name !== undefined && name !== "help");
}

it("every command's --help (groups and subcommands too) has an Examples section of sselfie commands", async () => {
  const top = await runCli(["--help"]);
  expect(top.code).toBe(0);
  const paths: string[][] = [];
  for (const name of commandsOf(top.stdout)) {
    paths.push([name]);
    const help = await runCli([name, "--help"]);
    for (const sub of commandsOf(help.stdout)) paths.push([name, sub]);
  }
  expect(paths.map((p) => p.join(" "))).toEqual(expect.arrayContaining(["operators", "operators create", "owners add", "budget set", "train", "serve"]));
  const without: string[] = [];
  for (const path of [[], ...paths]) {
    const help = await runCli([...path, "--help"]);
    expect(help.code, path.join(" ")).toBe(0);
    const examples = /\nExamples:\n((?: {2}\$ .+\n)+)/.exec(help.stdout)?.[1] ?? "";
    const lines = examples.trimEnd().split("\n").filter(Boolean);
    const own = lines.filter((l) => l.includes(`sselfie ${path.join(" ")}`.trimEnd()));
    if (lines.length === 0 || own.length === 0) without.push(path.join(" ") || "(top level)");
    // Examples give the operator token through login or SSELFIE_TOKEN, never --token (shell history).
    expect(lines.filter((l) => / --token /.test(l)), path.join(" ")).toEqual([]);
  }
  expect(without).toEqual([]);
});

it("the environment in --help is the README configuration table's, no more, no less", async () => {
  const help = (await runCli(["--help"])).stdout;
  const section = /\nEnvironment[^\n]*\n([\s\S]*?)\nExit codes:/.exec(help)?.[1];
  expect(section, help).toBeDefined();
  const inHelp = new Set(section!.match(/\b[A-Z][A-Z0-9_]{2,}\b/g));

  const table = /## Configuration\n[\s\S]*?\n((?:\|.*\|\n)+)/.exec(README)?.[1] ?? "";
  const inReadme = new Set(
    table
      .split("\n")
      .map((row) => row.split("|")[2]?.trim() ?? "")
      .flatMap((cell) => cell.match(/`([A-Z][A-Z0-9_]{2,})`/g) ?? [])
      .map((v) => v.replaceAll("`", "")),
  );
  expect(inReadme.size).toBeGreaterThanOrEqual(10);
  expect([...inHelp].sort()).toEqual([...inReadme].sort());
  for (const name of ["SSELFIE_SCHEMA", "SSELFIE_WEBHOOK_URL", "SSELFIE_PRICE_PER_SECOND", "SSELFIE_HOME", "DATABASE_URL", "SSELFIE_TOKEN", "REPLICATE_API_TOKEN", "REPLICATE_BASE_URL", "REPLICATE_OWNER"]) {
    expect(inHelp.has(name), name).toBe(true);
  }
  expect(help).toContain("each added owner's --token-env");
});
