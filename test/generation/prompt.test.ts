import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { PROMPT_MAX_LENGTH, preparePrompt, triggerWordIds, validatePromptText } from "../../src/generation/prompt.js";
import { validateSeed } from "../../src/locked.js";

function refusal(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error("expected a refusal");
}

describe("prompt text", () => {
  it("is trimmed and kept otherwise as given", () => {
    expect(validatePromptText("  user42 in a sunlit studio \t")).toBe("user42 in a sunlit studio");
    expect(validatePromptText("café, 東京, emoji 👩‍🚀")).toBe("café, 東京, emoji 👩‍🚀");
  });

  it("is required and not blank", () => {
    expect(refusal(() => validatePromptText(undefined)).code).toBe("INVALID_PROMPT");
    expect(refusal(() => validatePromptText(42)).code).toBe("INVALID_PROMPT");
    expect(refusal(() => validatePromptText("   ")).message).toMatch(/empty/);
  });

  it("is bounded in characters, not bytes", () => {
    expect(validatePromptText("é".repeat(PROMPT_MAX_LENGTH))).toHaveLength(PROMPT_MAX_LENGTH);
    const err = refusal(() => validatePromptText("a".repeat(PROMPT_MAX_LENGTH + 1)));
    expect(err.details).toMatchObject({ length: PROMPT_MAX_LENGTH + 1, max: PROMPT_MAX_LENGTH });
  });

  it.each([
    ["a newline", "line one\nline two", "U+000A"],
    ["a tab inside", "a\tb", "U+0009"],
    ["NUL", "a\u0000b", "U+0000"],
    ["DEL", "a\u007fb", "U+007F"],
    ["a C1 control", "a\u0085b", "U+0085"],
    ["a bidi override", "a\u202eb", "U+202E"],
    ["a zero-width space", "user\u200b7", "U+200B"],
    ["a soft hyphen", "us\u00ader7", "U+00AD"],
    ["a lone surrogate", "a\ud800b", "U+D800"],
  ])("refuses %s", (_name, prompt, char) => {
    expect(refusal(() => validatePromptText(prompt)).details).toEqual({ character: char });
  });
});

describe("trigger words in a prompt", () => {
  it("adds the user's own trigger word when it is missing, and says so", () => {
    expect(preparePrompt("42", "portrait in a sunlit studio")).toEqual({
      prompt: "user42, portrait in a sunlit studio",
      original: "portrait in a sunlit studio",
      triggerWord: "user42",
      triggerWordAdded: true,
    });
  });

  it("keeps a prompt that has the exact trigger word", () => {
    for (const p of ["user42 smiling", "a photo of user42", "(user42), studio", "user42's portrait", "user42.", "a_user42 b"]) {
      expect(preparePrompt("42", p)).toMatchObject({ prompt: p, triggerWordAdded: false });
    }
  });

  it("adds the exact form when only another spelling of the own trigger word is present", () => {
    expect(preparePrompt("42", "USER42 smiling")).toMatchObject({ prompt: "user42, USER42 smiling", triggerWordAdded: true });
    expect(preparePrompt("42", "ｕｓｅｒ４２ smiling")).toMatchObject({ triggerWordAdded: true });
  });

  it("refuses another user's trigger word, in any case or width, with what to do", () => {
    for (const p of ["user7 and user42", "User7", "USER7 portrait", "ｕｓｅｒ７", "user\u200d7", "photo_of_user7", "(user7)", "x-user7"]) {
      const err = refusal(() => preparePrompt("42", p));
      expect(err.code).toBe("INVALID_PROMPT");
      expect(err.details).toEqual({ userId: "42", otherTriggerWords: ["user7"] });
      expect(err.message).toMatch(/another user's trigger word/);
    }
  });

  it("reads ids greedily, as USER_ID_PATTERN allows", () => {
    expect(triggerWordIds("user42-style, user42.5, user42. user42_b")).toEqual(["42-style", "42.5", "42", "42_b"]);
    expect(refusal(() => preparePrompt("42", "user42-style")).details).toMatchObject({ otherTriggerWords: ["user42-style"] });
    expect(preparePrompt("42-style", "user42-style at work")).toMatchObject({ triggerWordAdded: false });
  });

  it("allows the plain word user and words that merely contain it", () => {
    expect(triggerWordIds("a user, the User, superuser, abuser, user_, user-")).toEqual([]);
    expect(preparePrompt("42", "a user at a desk")).toMatchObject({ prompt: "user42, a user at a desk" });
  });

  it("refuses users and username: they are the trigger words of users s and name", () => {
    expect(refusal(() => preparePrompt("42", "three users of an app")).details).toMatchObject({ otherTriggerWords: ["users"] });
    expect(refusal(() => preparePrompt("42", "a username on screen")).details).toMatchObject({ otherTriggerWords: ["username"] });
  });

  // The rule by pattern (docs/cli.md, generate): for user 42, every token that names a user id
  // other than 42 is refused, whether that user exists or not; spaced forms count when a digit follows.
  it.each([
    ["user4 at the beach", ["user4"]],
    ["user420 at the beach", ["user420"]],
    ["user 43 at the beach", ["user43"]],
    ["USER43 at the beach", ["user43"]],
    ["user_43 at the beach", ["user43"]],
    ["user-43 at the beach", ["user43"]],
    ["user.43 at the beach", ["user43"]],
    ["user #43 at the beach", ["user43"]],
    ["user   43", ["user43"]],
    ["Ｕｓｅｒ　４３", ["user43"]],
    ["user 4-b", ["user4-b"]],
    ["user42 with user 7", ["user7"]],
    ["user 42nd street", ["user42nd"]],
    ["users at a desk", ["users"]],
    ["user 1 and user 2", ["user1", "user2"]],
  ])("for user 42, %j is refused as naming %j", (prompt, words) => {
    const err = refusal(() => preparePrompt("42", prompt));
    expect(err.code).toBe("INVALID_PROMPT");
    expect(err.details).toEqual({ userId: "42", otherTriggerWords: words });
    expect(err.message).toContain("whether or not such a user exists");
    expect(err.message).toContain('may name only "user42"');
  });

  it.each([
    ["user42 at the beach", "user42 at the beach"],
    ["user 42 at the beach", "user42, user 42 at the beach"],
    ["user_42 at the beach", "user42, user_42 at the beach"],
    ["USER42 at the beach", "user42, USER42 at the beach"],
    ["a user at a desk", "user42, a user at a desk"],
    ["the user smiles", "user42, the user smiles"],
    ["user's portrait", "user42, user's portrait"],
    ["superuser7 console", "user42, superuser7 console"],
    ["user, 7 dogs", "user42, user, 7 dogs"],
    ["user: 7 dogs", "user42, user: 7 dogs"],
    ["42 balloons", "user42, 42 balloons"],
  ])("for user 42, %j is accepted as %j", (prompt, sent) => {
    expect(preparePrompt("42", prompt).prompt).toBe(sent);
  });

  it("the rule does not depend on which users exist: the refusal of user4 and of user99999 read alike", () => {
    const a = refusal(() => preparePrompt("42", "user4 smiling")).message;
    const b = refusal(() => preparePrompt("42", "user99999 smiling")).message;
    expect(a.replace('"user4"', "X")).toBe(b.replace('"user99999"', "X"));
  });

  it("a very long token is quoted cut short", () => {
    const err = refusal(() => preparePrompt("42", `user${"7".repeat(900)} at the beach`));
    expect(err.message).toContain(`"user${"7".repeat(36)}…" (904 characters)`);
    expect(err.message.length).toBeLessThan(500);
  });

  it("validates the user id too", () => {
    expect(refusal(() => preparePrompt("Bad Id", "x")).code).toBe("INVALID_INPUT");
  });
});

describe("seed", () => {
  it("accepts 0..999999 as numbers or digit strings", () => {
    expect(validateSeed(0)).toBe(0);
    expect(validateSeed(999_999)).toBe(999_999);
    expect(validateSeed("1234")).toBe(1234);
  });
  it.each([-1, 1_000_000, 1.5, "12a", "", "1e3", null, Number.NaN])("refuses %s", (seed) => {
    expect(refusal(() => validateSeed(seed)).code).toBe("INVALID_INPUT");
  });
});
