/**
 * The commander program: global options, every command with examples, and lazy loading so that
 * `--help` and `--version` import nothing heavy.
 */
import { Command, Option } from "commander";
import type { CliCommand, GlobalFlags } from "./command.js";


type Loader = () => Promise<CliCommand<unknown>>;

export interface ProgramHooks {
  /** Runs a loaded command; sets the exit code. */
  execute(load: Loader, raw: Record<string, unknown>, args: string[], flags: GlobalFlags): Promise<void>;
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
}

export function buildProgram(hooks: ProgramHooks, version: string): Command {
  const program = new Command("sselfie")
    .description("Train one private FLUX model per end user on Replicate and generate only from it.")
    .version(version, "-V, --version", "print the version")
    .option("--database-url <url>", "PostgreSQL server (env DATABASE_URL); default: the embedded database")
    .option("--schema <name>", "Postgres schema for sselfie's tables (env SSELFIE_SCHEMA; default sselfie)")
    .option("--token <token>", "operator token (env SSELFIE_TOKEN; else the one saved by `sselfie login`)")
    .option("--json", "print one JSON document on stdout; no colours, spinners or prompts")
    .option("-y, --yes", "assume yes for confirmations")
    .option("--no-color", "plain output (also NO_COLOR)")
    .showHelpAfterError(false)
    .exitOverride()
    .addHelpText(
      "after",
      examples([
        "sselfie init",
        "sselfie train --user 42 --images ./selfies --wait",
        "sselfie status --user 42",
        'sselfie generate --user 42 --prompt "portrait of user42 in a sunlit studio"',
        "sselfie audit --all --format sarif > audit.sarif",
        "sselfie scan src --format sarif > scan.sarif",
      ]) +
        "\nEnvironment (the configuration table in README.md says what each does):\n" +
        "  SSELFIE_TOKEN, SSELFIE_HOME, DATABASE_URL, SSELFIE_SCHEMA, SSELFIE_WEBHOOK_URL, SSELFIE_PRICE_PER_SECOND,\n" +
        "  REPLICATE_API_TOKEN, REPLICATE_OWNER, REPLICATE_BASE_URL, SSELFIE_REPLICATE_TIMEOUT,\n" +
        "  each added owner's --token-env, NO_COLOR\n" +
        "Exit codes: 0 ok, 1 failed outcome, 2 invalid input, 3 auth, 4 state, 5 Replicate, 6 config/database\n",
    );

  const add = (cmd: Command, load: Loader, exampleLines: string[]) => {
    cmd.exitOverride().addHelpText("after", examples(exampleLines));
    cmd.action(async (...actionArgs: unknown[]) => {
      const self = actionArgs[actionArgs.length - 1] as Command;
      const raw = self.opts();
      const args = self.args;
      const g = program.opts();
      const flags: GlobalFlags = {
        databaseUrl: g.databaseUrl,
        token: g.token,
        schema: g.schema,
        json: Boolean(g.json),
        yes: Boolean(g.yes),
        color: g.color !== false,
      };
      await hooks.execute(load, raw, args, flags);
    });
    return cmd;
  };

  add(
    program.command("init").description("apply migrations; create the first admin operator if there is none"),
    async () => (await import("./commands/init.js")).initCommand,
    ["sselfie init", "DATABASE_URL=postgres://postgres@127.0.0.1:5432/app sselfie init --json"],
  );
  add(
    program.command("login").description("verify an operator token and save it (mode 0600) for later commands"),
    async () => (await import("./commands/login.js")).loginCommand,
    ["sselfie login", "SSELFIE_TOKEN=sselfie_... sselfie login --json"],
  );

  /** A command that only holds subcommands: its --help shows examples of them too. */
  const group = (name: string, description: string, exampleLines: string[]) =>
    program.command(name).description(description).exitOverride().addHelpText("after", examples(exampleLines));

  const operators = group("operators", "manage operators and their tokens (admin only)", [
    "sselfie operators create --name studio --scopes train,generate",
    "sselfie operators list --json",
    "sselfie operators revoke studio --yes",
  ]);
  add(
    operators
      .command("create")
      .description("create an operator and print its token once")
      .requiredOption("--name <name>", "operator name")
      .requiredOption("--scopes <list>", "comma-separated: read, train, generate, admin"),
    async () => (await import("./commands/operators.js")).operatorsCreateCommand,
    ["sselfie operators create --name ci --scopes read", "sselfie operators create --name studio --scopes train,generate"],
  );
  add(
    operators.command("list").description("list operators"),
    async () => (await import("./commands/operators.js")).operatorsListCommand,
    ["sselfie operators list", "sselfie operators list --json"],
  );
  add(
    operators.command("revoke").description("revoke an operator's token").argument("<name>", "operator name"),
    async () => (await import("./commands/operators.js")).operatorsRevokeCommand,
    ["sselfie operators revoke ci --yes"],
  );

  const owners = group("owners", "the pool of Replicate accounts that own users' models (admin only)", [
    "sselfie owners add acme-photos --token-env REPLICATE_TOKEN_ACME",
    "sselfie owners list",
    "sselfie owners drain acme-photos",
  ]);
  add(
    owners
      .command("add")
      .description("add a Replicate account or organisation that new users can be placed on")
      .argument("<name>", "the Replicate account or organisation name")
      .requiredOption("--token-env <VAR>", "the NAME of the environment variable holding its API token (never the token)")
      .option("--capacity <n>", "how many users it may hold (default 1000, Replicate's models per account)"),
    async () => (await import("./commands/owners.js")).ownersAddCommand,
    ["sselfie owners add acme-photos --token-env REPLICATE_TOKEN_ACME", "sselfie owners add acme-eu --token-env REPLICATE_TOKEN_EU --capacity 900"],
  );
  add(
    owners.command("list").description("list owners: users held, capacity, free places, status"),
    async () => (await import("./commands/owners.js")).ownersListCommand,
    ["sselfie owners list", "sselfie owners list --json"],
  );
  add(
    owners.command("drain").description("keep an owner's users but place no new ones on it").argument("<name>", "owner name"),
    async () => (await import("./commands/owners.js")).ownersDrainCommand,
    ["sselfie owners drain acme-photos"],
  );

  add(
    program
      .command("train")
      .description("check, package and upload a user's photos and start training their own model")
      .requiredOption("--user <id>", "end user id")
      .requiredOption("--images <path>", "a folder or a .zip of 10+ photos (JPEG, PNG, WebP, HEIC, AVIF)")
      .option("--steps <n>", "training steps (trainer default 1000; 100-6000)")
      .option("--wait", "follow the training until it ends (exit 1 if it fails or is canceled)")
      .option("--replace-identity", "train although the photos show another face than the user's model (recorded)"),
    async () => (await import("./commands/train.js")).trainCommand,
    ["sselfie train --user 42 --images ./selfies", "sselfie train --user 42 --images selfies.zip --wait"],
  );
  add(
    program
      .command("prepare")
      .description("prepare and check a photo set exactly as train would, without the database or Replicate")
      .requiredOption("--images <path>", "a folder or a .zip of photos (JPEG, PNG, WebP, HEIC, AVIF)")
      .option("--out <dir>", "where to write the prepared photos, manifest.json and contact-sheet.png (default ./sselfie-prepared, must be empty)"),
    async () => (await import("./commands/prepare.js")).prepareCommand,
    ["sselfie prepare --images ./selfies", "sselfie prepare --images selfies.zip --out ./checked --json"],
  );
  add(
    program
      .command("status")
      .description("refresh a user's training from Replicate and show status, progress, model and version")
      .requiredOption("--user <id>", "end user id")
      .option("--watch", "keep following until the training ends (exit 1 if it fails or is canceled)"),
    async () => (await import("./commands/status.js")).statusCommand,
    ["sselfie status --user 42", "sselfie status --user 42 --watch"],
  );
  add(
    program
      .command("cancel")
      .description("cancel a user's running training")
      .requiredOption("--user <id>", "end user id"),
    async () => (await import("./commands/cancel.js")).cancelCommand,
    ["sselfie cancel --user 42 --yes"],
  );
  add(
    program
      .command("erase")
      .description("erase everything sselfie and Replicate hold about a user (admin; resumable)")
      .requiredOption("--user <id>", "end user id"),
    async () => (await import("./commands/erase.js")).eraseCommand,
    ["sselfie erase --user 42", "sselfie erase --user 42 --yes --json"],
  );
  add(
    program
      .command("generate")
      .description("generate 3 portraits from the user's own completed model, with the locked parameters")
      .requiredOption("--user <id>", "end user id")
      .requiredOption("--prompt <text>", "what to generate; the trigger word user<id> is added if missing")
      .option("--seed <n>", "a seed from 0 to 999999 (default: random)")
      .option("--out <dir>", "where to save the PNGs (default ./sselfie-output/<id>/)"),
    async () => (await import("./commands/generate.js")).generateCommand,
    ['sselfie generate --user 42 --prompt "user42 as an astronaut, studio light"', 'sselfie generate --user 42 --prompt "..." --seed 1234 --out ./shots'],
  );
  add(
    program
      .command("audit")
      .description("check that every user's data and generation follows the locked architecture")
      .option("--user <id>", "audit one user")
      .option("--all", "audit every user (the default)")
      .option("--remote", "also check each model, version and training at Replicate")
      .addOption(new Option("--format <format>", "output format").choices(["text", "json", "sarif"]).default("text")),
    async () => (await import("./commands/audit.js")).auditCommand,
    ["sselfie audit --all", "sselfie audit --user 42 --remote", "sselfie audit --all --format sarif > audit.sarif"],
  );
  add(
    program
      .command("scan")
      .description("find backend code that calls Replicate around sselfie's rules (no token or database needed)")
      .argument("[paths...]", "files or folders to scan (default: the current folder)")
      .addOption(new Option("--format <format>", "output format").choices(["text", "json", "sarif"]).default("text")),
    async () => (await import("./commands/scan.js")).scanCommand,
    ["sselfie scan", "sselfie scan src api --json", "sselfie scan . --format sarif > scan.sarif"],
  );

  add(
    program
      .command("costs")
      .description("what trainings and generations cost (Replicate's predict_time x the price per second), per kind and per user")
      .option("--user <id>", "only this user")
      .option("--since <date>", "only work that ended since this date (YYYY-MM-DD, midnight UTC) or ISO 8601 instant"),
    async () => (await import("./commands/costs.js")).costsCommand,
    ["sselfie costs", "sselfie costs --user 42 --since 2026-11-01 --json"],
  );
  const budget = group("budget", "caps on what each user may spend; work that would exceed one is refused before anything is paid", [
    "sselfie budget set --default --usd 10",
    "sselfie budget set --user 42 --usd 25",
    "sselfie budget show --user 42",
  ]);
  add(
    budget
      .command("set")
      .description("set (replace) a user's cap, or the default cap of every user without their own (admin)")
      .option("--user <id>", "end user id")
      .option("--default", "the default for every user without their own budget")
      .option("--usd <n>", "the cap in USD, all time (0 refuses all paid work)"),
    async () => (await import("./commands/budget.js")).budgetSetCommand,
    ["sselfie budget set --user 42 --usd 25", "sselfie budget set --default --usd 10"],
  );
  add(
    budget
      .command("show")
      .description("the cap, spent and reserved amounts of a user; without --user, every budget set")
      .option("--user <id>", "end user id"),
    async () => (await import("./commands/budget.js")).budgetShowCommand,
    ["sselfie budget show --user 42", "sselfie budget show --json"],
  );

  add(
    program
      .command("reconcile")
      .description("one pass over everything unfinished: trainings, unanswered or undownloaded generations, stale claims (for cron)"),
    async () => (await import("./commands/reconcile.js")).reconcileCommand,
    ["sselfie reconcile --json", "*/5 * * * * sselfie reconcile --json >> /var/log/sselfie-reconcile.log"],
  );

  add(
    program
      .command("serve")
      .description("receive Replicate's webhooks (POST /webhooks/replicate), answer GET /healthz, and reconcile on a timer")
      .option("--host <host>", "address to listen on (default 127.0.0.1)")
      .option("--port <n>", "port (default 8080; 0 picks a free one)")
      .option("--reconcile-every <minutes>", "a reconcile pass this often (default 5; 0 turns it off)"),
    async () => (await import("./commands/serve.js")).serveCommand,
    ["sselfie serve --port 8080", "SSELFIE_WEBHOOK_URL=https://hooks.example/webhooks/replicate sselfie train --user 42 --images ./selfies"],
  );

  return program;
}

