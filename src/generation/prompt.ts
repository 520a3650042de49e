/**
 * Prompt rules, as pure functions so the CLI can apply them before any I/O.
 *
 * Trigger words: every token of the form `user<id>` (id as USER_ID_PATTERN allows) names some
 * user's trigger word, so one that is not the user's own is refused: it asks one person's model
 * for another person. The scan is deliberately strict, because the rule has to hold without
 * looking up which users exist:
 * - it runs on the NFKC form with format characters removed and letters lower-cased, so
 *   `ＵＳＥＲ７`, `User7` and `user<ZWJ>7` are all `user7`;
 * - a token starts at the beginning or after any character that is not a letter or digit
 *   (so `photo_of_user7` and `(user7)` are caught, `superuser` is not a token);
 * - the id is taken greedily (`user42-style` is the trigger word of user `42-style`, not `user42`);
 * - the plain word `user` (nothing after it) is allowed; `users` and `username` are refused,
 *   because they are the trigger words of users `s` and `name`, who may exist now or later.
 * The user's own trigger word counts as present only in its exact form (`user42`, lower case,
 * as the model was trained); otherwise it is added in front of the prompt and the result says so.
 */
import { InvalidInputError } from "../errors.js";
import { triggerWord, validateUserId } from "../locked.js";

/** Characters (code points) a prompt may have before the trigger word is added. */
export const PROMPT_MAX_LENGTH = 1000;

/**
 * Control characters, lone surrogates, and invisible format characters that could hide a token
 * (bidi overrides, zero-width space, soft hyphen...). ZWJ and ZWNJ stay allowed: emoji sequences
 * and several scripts need them, and the trigger scan removes them anyway.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}]|(?![\u200c\u200d])\p{Cf}/u;
const FORMAT = /\p{Cf}/gu;
const TRIGGER_TOKEN = /(?<![\p{L}\p{N}])user([a-z0-9]+(?:[._-][a-z0-9]+)*)/gu;

export interface PreparedPrompt {
  /** What is sent to the model. */
  prompt: string;
  /** What the caller gave, as given. */
  original: string;
  triggerWord: string;
  triggerWordAdded: boolean;
}

export function invalidPrompt(message: string, details: Record<string, unknown> = {}): InvalidInputError {
  return new InvalidInputError(message, details, "INVALID_PROMPT");
}

/** Required, trimmed, at most PROMPT_MAX_LENGTH characters, no control or invisible format characters. */
export function validatePromptText(raw: unknown): string {
  if (typeof raw !== "string") throw invalidPrompt("A prompt is required (for example --prompt \"user42 in a sunlit studio\").");
  const prompt = raw.trim();
  if (prompt === "") throw invalidPrompt("The prompt is empty: describe the picture to generate.");
  const length = [...prompt].length;
  if (length > PROMPT_MAX_LENGTH) {
    throw invalidPrompt(`The prompt has ${length} characters; the limit is ${PROMPT_MAX_LENGTH}.`, { length, max: PROMPT_MAX_LENGTH });
  }
  const bad = FORBIDDEN.exec(prompt);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    throw invalidPrompt(
      `The prompt contains the control or invisible character U+${code}: use a single line of visible text.`,
      { character: `U+${code}` },
    );
  }
  return prompt;
}

/** Every user id named by a `user<id>` token, in order of appearance (duplicates kept). */
export function triggerWordIds(prompt: string): string[] {
  const view = prompt.normalize("NFKC").replace(FORMAT, "").toLowerCase();
  return [...view.matchAll(TRIGGER_TOKEN)].map((m) => m[1]!);
}

function hasExactTriggerWord(prompt: string, userId: string): boolean {
  for (const m of prompt.matchAll(TRIGGER_TOKEN)) if (m[1] === userId) return true;
  return false;
}

/** The prompt sent for `userId`: validated, trimmed, with the user's trigger word. */
export function preparePrompt(userId: string, raw: unknown): PreparedPrompt {
  validateUserId(userId);
  const prompt = validatePromptText(raw);
  const own = triggerWord(userId);
  const others = [...new Set(triggerWordIds(prompt).filter((id) => id !== userId))];
  if (others.length > 0) {
    const words = others.map((id) => `"user${id}"`).join(", ");
    throw invalidPrompt(
      `The prompt names ${words}, which ${others.length === 1 ? "is" : "are"} another user's trigger word: ` +
        `a prompt for user ${userId} may only name "${own}". Rephrase it without words of the form user<id> ` +
        `(e.g. "people" instead of "users").`,
      { userId, otherTriggerWords: others.map((id) => `user${id}`) },
    );
  }
  if (hasExactTriggerWord(prompt, userId)) return { prompt, original: raw as string, triggerWord: own, triggerWordAdded: false };
  return { prompt: `${own}, ${prompt}`, original: raw as string, triggerWord: own, triggerWordAdded: true };
}
