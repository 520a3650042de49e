/**
 * Prompt rules, as pure functions so the CLI can apply them before any I/O.
 *
 * Trigger words. A prompt for user N may name no trigger word but N's own (`userN`): another one
 * asks one person's model for another person. The rule is a pattern, decided without looking up
 * which users exist, so that it is the same for every prompt whatever the database holds, and
 * tells nothing about who exists: `user4` is refused for user 42 whether or not user 4 exists.
 * A token is refused when it is, once the prompt is read as below:
 * - `user` directly followed by an id (as USER_ID_PATTERN allows, taken greedily): `user7`,
 *   `user42-style` (the trigger word of user `42-style`), `users` and `username` (users `s` and
 *   `name`, who may exist now or later);
 * - or `user`, then spaces, `_`, `-`, `.` or `#`, then an id that starts with a digit: `user 43`,
 *   `user_43`, `user-43`, `user #43` read as user 43 to anyone, so they are refused as `user43` is
 *   (an id starting with a letter is not caught in this spaced form: `the user smiles` is English);
 * unless its id is N itself (`user 42` in a prompt for user 42 is allowed; the exact trigger word is
 * then added in front, as for any prompt without it).
 * The reading: the NFKC form with format characters removed and letters lower-cased (so
 * `ＵＳＥＲ７`, `User7` and `user<ZWJ>7` are all `user7`); a token starts at the beginning or after
 * any character that is not a letter or digit (so `photo_of_user7` and `(user7)` are caught,
 * `superuser7` is not a token). The plain word `user` (no id after it) is allowed.
 * The user's own trigger word counts as present only in its exact form (`user42`, lower case,
 * as the model was trained); otherwise it is added in front of the prompt and the result says so.
 */
import { InvalidInputError } from "../errors.js";
import { triggerWord, validateUserId } from "../locked.js";
import { quoteValue, shortValue } from "../quote-value.js";

/** Characters (code points) a prompt may have before the trigger word is added. */
export const PROMPT_MAX_LENGTH = 1000;

/**
 * Control characters, lone surrogates, and invisible format characters that could hide a token
 * (bidi overrides, zero-width space, soft hyphen...). ZWJ and ZWNJ stay allowed: emoji sequences
 * and several scripts need them, and the trigger scan removes them anyway.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}]|(?![\u200c\u200d])\p{Cf}/u;
const FORMAT = /\p{Cf}/gu;
/** The exact trigger word `user<id>` (on the prompt as given, for "is the own one present"). */
const TRIGGER_TOKEN = /(?<![\p{L}\p{N}])user([a-z0-9]+(?:[._-][a-z0-9]+)*)/gu;
/** Any token that names a user (on the normalised view): `user<id>`, or `user 43`, `user_43`, `user-43`, `user #43`. */
const USER_TOKEN = /(?<![\p{L}\p{N}])user(?:([a-z0-9]+(?:[._-][a-z0-9]+)*)|[\s._#-]+(\d[a-z0-9]*(?:[._-][a-z0-9]+)*))/gu;

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

function userTokens(prompt: string): { id: string; text: string }[] {
  const view = prompt.normalize("NFKC").replace(FORMAT, "").toLowerCase();
  return [...view.matchAll(USER_TOKEN)].map((m) => ({ id: (m[1] ?? m[2])!, text: m[0] }));
}

/** Every user id a token of the prompt names (`user7`, `user 7`, ...), in order of appearance (duplicates kept). */
export function triggerWordIds(prompt: string): string[] {
  return userTokens(prompt).map((t) => t.id);
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
  const others = userTokens(prompt).filter((t) => t.id !== userId);
  if (others.length > 0) {
    const ids = [...new Set(others.map((t) => t.id))];
    const words = [...new Set(others.map((t) => t.text))];
    const what = words.length === 1 ? "that is the form of another user's trigger word" : "those are the form of other users' trigger words";
    throw invalidPrompt(
      `The prompt names ${words.map((w) => quoteValue(w)).join(", ")}: ${what} (user<id>), refused whether or not such a user exists. ` +
        `A prompt for user ${userId} may name only "${own}": rephrase it without "user" followed by an id or a number ` +
        `(e.g. "people" instead of "users", "the person" instead of "user 7").`,
      { userId, otherTriggerWords: ids.map((id) => shortValue(`user${id}`)) },
    );
  }
  if (hasExactTriggerWord(prompt, userId)) return { prompt, original: raw as string, triggerWord: own, triggerWordAdded: false };
  return { prompt: `${own}, ${prompt}`, original: raw as string, triggerWord: own, triggerWordAdded: true };
}
