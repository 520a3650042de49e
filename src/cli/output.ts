/**
 * All terminal output: JSON documents, text, colours and spinners. The only importer of chalk
 * and ora. With --json, stdout carries exactly one JSON document and nothing else.
 */
import type { Ora } from "ora";

export interface OutputOptions {
  json: boolean;
  color: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

export interface Progress {
  update(text: string): void;
  stop(finalText?: string): void;
}

type Style = (s: string) => string;
const plain: Style = (s) => s;

export class Output {
  readonly json: boolean;
  readonly interactive: boolean;
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;
  private readonly color: boolean;
  private chalk: typeof import("chalk").default | undefined;
  /** The spinner running now, if any: a notice is written above it. */
  private spinner: Ora | undefined;

  constructor(opts: OutputOptions) {
    this.json = opts.json;
    this.stdout = opts.stdout ?? process.stdout;
    this.stderr = opts.stderr ?? process.stderr;
    this.interactive = !opts.json && Boolean(this.stderr.isTTY);
    this.color = opts.color && !opts.json && Boolean(this.stdout.isTTY);
  }

  /** Loads chalk only when colour will actually be used. */
  async prepare(): Promise<void> {
    if (this.color && !this.chalk) {
      const { Chalk } = await import("chalk");
      this.chalk = new Chalk({ level: 1 });
    }
  }

  get bold(): Style {
    return this.chalk ? this.chalk.bold : plain;
  }
  get dim(): Style {
    return this.chalk ? this.chalk.dim : plain;
  }
  get green(): Style {
    return this.chalk ? this.chalk.green : plain;
  }
  get red(): Style {
    return this.chalk ? this.chalk.red : plain;
  }
  get yellow(): Style {
    return this.chalk ? this.chalk.yellow : plain;
  }

  /** The command's result: JSON, or the text rendering. */
  result(payload: unknown, text: () => string): void {
    if (this.json) this.stdout.write(`${JSON.stringify(payload)}\n`);
    else {
      const rendered = text();
      if (rendered) this.stdout.write(rendered.endsWith("\n") ? rendered : `${rendered}\n`);
    }
  }

  error(code: string, message: string, hintStack?: string): void {
    if (this.json) {
      this.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
      return;
    }
    this.stderr.write(`${this.red("Error")} ${this.dim(`[${code}]`)} ${message}\n`);
    if (hintStack) this.stderr.write(`${this.dim(hintStack)}\n`);
  }

  /** One line on stdout as it is, for commands whose output is a stream of lines (`serve`). */
  line(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  /** A note for the operator (stderr), never part of the JSON document. */
  note(message: string): void {
    if (!this.json) this.stderr.write(`${message}\n`);
  }

  /**
   * A warning about a risk the operator must hear of (a home other users can open): on stderr even
   * with --json, where stdout stays the one JSON document; above a running spinner, as a notice.
   */
  warn(message: string): void {
    this.notice(`${this.yellow("Warning:")} ${message}`);
  }

  /**
   * Something the operator should know while a command waits (Replicate not answering, a retry):
   * stderr, off a TTY and with --json too, since it never touches the JSON document on stdout. A
   * running spinner is cleared for the line and drawn again under it.
   */
  notice(message: string): void {
    const spinner = this.spinner;
    if (spinner?.isSpinning) spinner.clear();
    this.stderr.write(`${message}\n`);
    if (spinner?.isSpinning) spinner.render();
  }

  /**
   * A spinner on a TTY whose width is known; plain lines otherwise (off a TTY, or a terminal that
   * reports 0 or no columns, where a spinner cannot know how many lines to clear); nothing with --json.
   */
  async progress(text: string): Promise<Progress> {
    if (this.json) return { update() {}, stop() {} };
    if (!this.interactive || !usableColumns(this.stderr.columns)) return this.lines(text);
    const { default: ora } = await import("ora");
    const spinner: Ora = ora({ text, stream: this.stderr, color: "cyan", isEnabled: true }).start();
    this.spinner = spinner;
    let fallback: Progress | undefined;
    return {
      update: (t) => {
        if (fallback) return fallback.update(t);
        // The terminal may be resized to nothing while the spinner runs: leave it for plain lines.
        if (!usableColumns(this.stderr.columns)) {
          spinner.stop();
          this.spinner = undefined;
          fallback = this.lines(t);
          return;
        }
        spinner.text = t;
      },
      stop: (t) => {
        if (fallback) return fallback.stop(t);
        this.spinner = undefined;
        if (t) spinner.stopAndPersist({ text: t, symbol: "" });
        else spinner.stop();
      },
    };
  }

  /** Progress as plain lines on stderr, each one once: no cursor movement. */
  private lines(text: string): Progress {
    let last = "";
    const line = (t: string) => {
      if (t !== last) this.stderr.write(`${t}\n`);
      last = t;
    };
    line(text);
    return { update: line, stop: (t) => t && line(t) };
  }
}

/**
 * Whether a terminal's width can drive a spinner. The spinner counts the lines it must clear as
 * text width / columns: 0 columns (some CI pseudo-terminals, `script` without a size, editor
 * shells) made that count infinite, a loop of cursor-up writes that never yielded, not even to SIGTERM.
 */
export function usableColumns(columns: number | undefined): boolean {
  return typeof columns === "number" && Number.isInteger(columns) && columns >= MIN_SPINNER_COLUMNS && columns <= MAX_SPINNER_COLUMNS;
}
const MIN_SPINNER_COLUMNS = 20;
const MAX_SPINNER_COLUMNS = 10_000;

/** A text progress bar for training steps: `[#####.....] 50% 500/1000`. */
export function bar(step: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, step / total)) : 0;
  const filled = Math.round(ratio * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.round(ratio * 100)}% ${step}/${total}`;
}
