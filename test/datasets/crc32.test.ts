import { expect, it } from "vitest";
import { crc32, crc32Js } from "../../src/datasets/crc32.js";

it("crc32 matches the standard check value, natively and in JavaScript, including when continued", () => {
  const data = Buffer.from("123456789");
  expect(crc32(data)).toBe(0xcbf43926);
  expect(crc32Js(data)).toBe(0xcbf43926);
  expect(crc32Js(data.subarray(4), crc32Js(data.subarray(0, 4)))).toBe(0xcbf43926);
});
