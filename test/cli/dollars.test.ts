import { expect, it } from "vitest";
import { dollars } from "../../src/cli/dollars.js";

it("text dollars show cents at least and a fraction of a cent when there is one", () => {
  expect([10, 0, 0.12, 0.0015, 0.001464, 0.00122, 25.5, 1234.56789].map(dollars)).toEqual([
    "$10.00",
    "$0.00",
    "$0.12",
    "$0.0015",
    "$0.0015",
    "$0.0012",
    "$25.50",
    "$1234.5679",
  ]);
});
