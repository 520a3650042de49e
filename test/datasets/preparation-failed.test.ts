import { expect, it } from "vitest";
import { preparationFailed } from "../../src/datasets/preparation-failed.js";
import type { PrepareReport } from "../../src/datasets/types.js";

const report = (images: Array<{ source: string; message: string }>, problems: string[]) =>
  ({
    ok: false,
    count: 0,
    images: images.map((i) => ({ source: i.source, problems: [{ code: "UNREADABLE", message: i.message }] })),
    problems: problems.map((message) => ({ code: "SOURCE_UNUSABLE", message })),
  }) as unknown as PrepareReport;

it("a missing source reads once, with no contact-sheet hint for a set with no photos", () => {
  const err = preparationFailed("/nope", report([], ["/nope does not exist"]));
  expect(err.message).toBe("1 problem with the photos in /nope:\n  /nope does not exist");
});

it("photo problems name their file, and the hint points to prepare's contact sheet", () => {
  const err = preparationFailed("./s", report([{ source: "a.jpg", message: "is not an image" }], ["./s holds 9 usable photos; a set needs at least 10"]));
  expect(err.message).toBe(
    "2 problems with the photos in ./s (run `sselfie prepare --images ./s` to see them on a contact sheet):\n" +
      "  a.jpg: is not an image\n  ./s holds 9 usable photos; a set needs at least 10",
  );
});
