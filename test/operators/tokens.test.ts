import { describe, expect, it, vi } from "vitest";

// Watch node:crypto's timingSafeEqual, so that "compares in constant time" is checked, not just said.
const timingSafe = vi.hoisted(() => ({ calls: 0 }));
vi.mock("node:crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof import("node:crypto")>();
  return {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      timingSafe.calls++;
      return crypto.timingSafeEqual(a, b);
    },
  };
});
import {
  generateToken,
  hashesEqual,
  hashToken,
  hasScope,
  invalidScopes,
  isWellFormedToken,
  parseScopes,
  TOKEN_PREFIX,
} from "../../src/operators/tokens.js";

describe("operator tokens", () => {
  it("have the recognisable prefix, fixed length and differ every time", () => {
    const tokens = Array.from({ length: 200 }, generateToken);
    for (const t of tokens) {
      expect(t.startsWith(TOKEN_PREFIX)).toBe(true);
      expect(t).toMatch(/^sselfie_[0-9A-Za-z]{46}$/);
      expect(isWellFormedToken(t)).toBe(true);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it("reject a token with one character changed (checksum) or the wrong prefix", () => {
    const t = generateToken();
    const i = TOKEN_PREFIX.length + 5;
    const flipped = t.slice(0, i) + (t[i] === "a" ? "b" : "a") + t.slice(i + 1);
    expect(isWellFormedToken(flipped)).toBe(false);
    expect(isWellFormedToken(`x${t.slice(1)}`)).toBe(false);
    expect(isWellFormedToken(t.slice(0, -1))).toBe(false);
  });

  it("store as sha256 hex and compare in constant time", () => {
    const t = generateToken();
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(t)).not.toContain(t.slice(TOKEN_PREFIX.length));
    timingSafe.calls = 0;
    expect(hashesEqual(hashToken(t), hashToken(t))).toBe(true);
    expect(hashesEqual(hashToken(t), hashToken(generateToken()))).toBe(false);
    // Every comparison of two hashes went through crypto.timingSafeEqual.
    expect(timingSafe.calls).toBe(2);
    expect(hashesEqual(hashToken(t), "00")).toBe(false);
  });

  it("scopes: admin implies all, unknown ones are named", () => {
    expect(hasScope(["admin"], "generate")).toBe(true);
    expect(hasScope(["read"], "train")).toBe(false);
    expect(hasScope(["train", "read"], "train")).toBe(true);
    expect(parseScopes(" read, train ,read")).toEqual(["read", "train"]);
    expect(invalidScopes(["read", "root", "write"])).toEqual(["root", "write"]);
  });
});
