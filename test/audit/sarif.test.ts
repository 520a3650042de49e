/**
 * The SARIF document CI systems read: valid against the official SARIF 2.1.0 schema, and every
 * result has the physical location GitHub code scanning needs to show it.
 */
import { describe, expect, it } from "vitest";
import { AUDIT_RULES, toSarif, type AuditReport } from "../../src/audit/index.js";
import { sarifProblems } from "../support/sarif.js";

function report(overrides: Partial<AuditReport> = {}): AuditReport {
  return {
    ok: false,
    checked: { users: 3, models: 2, trainings: 2, generations: 5, remoteModels: 2 },
    violations: [
      { rule: "model.id", userId: "42", modelId: "mallory/42-selfie-lora", message: "Model id is not alice/42-selfie-lora." },
      { rule: "generation.input", userId: "42", generationId: 7, versionRef: "alice/42-selfie-lora:ab", message: "Generation #7 sent lora_weights." },
      { rule: "training.trainer", userId: "7", trainingId: 3, message: "Training #3 used another trainer." },
      { rule: "remote.unverified", userId: "8", modelId: "alice/8-selfie-lora", message: "Could not be checked." },
    ],
    counts: { "model.id": 1, "generation.input": 1, "training.trainer": 1, "remote.unverified": 1 },
    truncated: false,
    unverified: [{ userId: "8", modelId: "alice/8-selfie-lora", code: "REPLICATE_UNAVAILABLE", message: "503" }],
    owner: { name: "alice", source: "configured" },
    scope: { userId: null, remote: true },
    durationMs: 12,
    ...overrides,
  };
}

describe("toSarif", () => {
  it("is a SARIF 2.1.0 log: every rule described, every finding a located result", () => {
    const doc = toSarif(report(), { toolVersion: "1.2.3" }) as any;
    expect(sarifProblems(doc)).toEqual([]);
    expect(Object.keys(doc)[0]).toBe("version");
    const driver = doc.runs[0].tool.driver;
    expect(driver.version).toBe("1.2.3");
    expect(driver.rules.map((r: { id: string }) => r.id)).toEqual(AUDIT_RULES.map((r) => r.id));
    for (const r of driver.rules) {
      expect(r.shortDescription.text.length).toBeGreaterThan(10);
      expect(r.help.text.length).toBeGreaterThan(10);
    }
    const results = doc.runs[0].results;
    expect(results.map((r: { ruleId: string }) => r.ruleId)).toEqual(["model.id", "generation.input", "training.trainer", "remote.unverified"]);
    for (const r of results) {
      expect(driver.rules[r.ruleIndex].id).toBe(r.ruleId);
      expect(r.level).toBe("error");
    }
    expect(results[1].locations[0].logicalLocations.map((l: { fullyQualifiedName: string }) => l.fullyQualifiedName)).toEqual([
      "users/42",
      "users/42/generations/7",
    ]);
    expect(results[2].locations[0].logicalLocations[1].fullyQualifiedName).toBe("users/7/trainings/3");
    // Code scanning shows only results with a physical location: one pseudo file per user, line 1.
    expect(results.map((r: any) => r.locations[0].physicalLocation)).toEqual(
      ["42", "42", "7", "8"].map((u) => ({ artifactLocation: { uri: `sselfie-audit/users/${u}`, uriBaseId: "%SRCROOT%" }, region: { startLine: 1, startColumn: 1 } })),
    );
    expect(doc.runs[0].properties).toMatchObject({ ok: false, counts: report().counts });
  });

  it("a clean report has no results, and the log is still valid", () => {
    const doc = toSarif(report({ ok: true, violations: [], counts: {}, unverified: [] })) as any;
    expect(sarifProblems(doc)).toEqual([]);
    expect(doc.runs[0].results).toEqual([]);
  });

  it("the check bites: a result without a message, or with only a logical location, is refused", () => {
    const doc = toSarif(report()) as any;
    delete doc.runs[0].results[0].message;
    delete doc.runs[0].results[1].locations[0].physicalLocation;
    expect(sarifProblems(doc)).toEqual([
      "schema: /runs/0/results/0 must have required property 'message'",
      "result 1: no physicalLocation.artifactLocation.uri",
      "result 1: no region.startLine",
    ]);
  });
});
