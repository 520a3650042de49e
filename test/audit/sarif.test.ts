/**
 * The SARIF document CI systems read: checked against the parts of the SARIF 2.1.0 schema it uses
 * (required properties, enumerations, types), with ajv.
 */
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { AUDIT_RULES, toSarif, type AuditReport } from "../../src/audit/index.js";

const message = { type: "object", required: ["text"], properties: { text: { type: "string", minLength: 1 } } };
const logicalLocation = {
  type: "object",
  properties: {
    name: { type: "string" },
    fullyQualifiedName: { type: "string" },
    kind: { enum: ["function", "member", "module", "namespace", "parameter", "package", "resource", "returnType", "type", "variable", "object", "array", "property", "value", "element", "text", "attribute", "comment", "declaration", "dtd", "processingInstruction"] },
  },
  additionalProperties: false,
};
const level = { enum: ["none", "note", "warning", "error"] };
/** A subset of https://json.schemastore.org/sarif-2.1.0.json, strict where sselfie writes. */
const SARIF_SUBSET = {
  type: "object",
  required: ["version", "runs"],
  properties: {
    version: { const: "2.1.0" },
    $schema: { type: "string", format: "uri" },
    runs: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["tool"],
        properties: {
          tool: {
            type: "object",
            required: ["driver"],
            properties: {
              driver: {
                type: "object",
                required: ["name"],
                properties: {
                  name: { type: "string" },
                  version: { type: "string" },
                  informationUri: { type: "string", format: "uri" },
                  rules: {
                    type: "array",
                    items: {
                      type: "object",
                      required: ["id"],
                      properties: {
                        id: { type: "string" },
                        name: { type: "string" },
                        shortDescription: message,
                        fullDescription: message,
                        help: message,
                        defaultConfiguration: { type: "object", properties: { level } },
                        properties: { type: "object" },
                      },
                      additionalProperties: false,
                    },
                  },
                },
              },
            },
          },
          invocations: { type: "array", items: { type: "object", required: ["executionSuccessful"], properties: { executionSuccessful: { type: "boolean" }, properties: { type: "object" } } } },
          results: {
            type: "array",
            items: {
              type: "object",
              required: ["message", "ruleId"],
              properties: {
                ruleId: { type: "string" },
                ruleIndex: { type: "integer", minimum: 0 },
                level,
                message,
                locations: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: { logicalLocations: { type: "array", minItems: 1, items: logicalLocation } },
                    additionalProperties: false,
                  },
                },
                partialFingerprints: { type: "object", additionalProperties: { type: "string" } },
                properties: { type: "object" },
              },
              additionalProperties: false,
            },
          },
          properties: { type: "object" },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
};

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
  const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
  const validate = ajv.compile(SARIF_SUBSET);

  it("is a SARIF 2.1.0 log: every rule described, every finding a located result", () => {
    const doc = toSarif(report(), { toolVersion: "1.2.3" }) as any;
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
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
    expect(doc.runs[0].properties).toMatchObject({ ok: false, counts: report().counts });
  });

  it("a clean report has no results, and the log is still valid", () => {
    const doc = toSarif(report({ ok: true, violations: [], counts: {}, unverified: [] })) as any;
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.runs[0].results).toEqual([]);
  });

  it("the subset schema bites: a result without a message is refused", () => {
    const doc = toSarif(report()) as any;
    delete doc.runs[0].results[0].message;
    expect(validate(doc)).toBe(false);
  });
});
