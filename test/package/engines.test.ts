import { readFileSync } from "node:fs";
import semver from "semver";
import { describe, expect, it } from "vitest";

// sselfie supports the Node.js range in package.json's engines; several newest majors of packages
// need Node 22. Every package the lockfile installs must accept the oldest Node sselfie supports,
// or `npm ci` warns EBADENGINE and the package may use what Node 20 does not have.
const root = new URL("../../", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8")) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe("engines", () => {
  const oldest = semver.minVersion(manifest.engines.node)!.version;

  it("sselfie's own range starts at Node 20", () => {
    expect(semver.major(oldest)).toBe(20);
  });

  it(`every locked package accepts Node ${oldest}`, () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path !== "")
      .flatMap(([path, meta]) => {
        const range = Array.isArray(meta.engines) ? undefined : meta.engines?.node;
        if (!range || semver.satisfies(oldest, range)) return [];
        return [`${path.replace(/^.*node_modules\//, "")}@${meta.version} needs node ${range}`];
      });
    expect(refusing).toEqual([]);
  });
});
