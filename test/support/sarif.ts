/**
 * Validates a SARIF log against the official SARIF 2.1.0 schema (test/fixtures/sarif), compiled by
 * Ajv 8 after the draft-04 `id` becomes `$id` and `$schema` is dropped, plus what GitHub code
 * scanning requires beyond the schema (a physical location on every result, rule descriptions).
 */
import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";

let validate: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validate) return validate;
  const schema = JSON.parse(readFileSync(new URL("../fixtures/sarif/sarif-schema-2.1.0.json", import.meta.url), "utf8")) as Record<string, unknown>;
  const { id, $schema: _draft, ...rest } = schema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  validate = ajv.compile({ $id: id as string, ...rest });
  return validate;
}

/** Every problem with the log, as readable strings; empty when the log is valid and code scanning would show every result. */
export function sarifProblems(log: unknown): string[] {
  const v = schemaValidator();
  const problems = v(log) ? [] : (v.errors ?? []).map((e) => `schema: ${e.instancePath} ${e.message}`);
  const runs = (log as { runs?: any[] }).runs ?? [];
  for (const run of runs) {
    for (const rule of run.tool?.driver?.rules ?? []) {
      if (!rule.shortDescription?.text) problems.push(`rule ${rule.id}: no shortDescription.text`);
      if (!rule.help?.text && !rule.fullDescription?.text) problems.push(`rule ${rule.id}: no help.text or fullDescription.text`);
    }
    (run.results ?? []).forEach((r: any, i: number) => {
      const p = r.locations?.[0]?.physicalLocation;
      const uri: unknown = p?.artifactLocation?.uri;
      if (typeof uri !== "string" || uri === "") problems.push(`result ${i}: no physicalLocation.artifactLocation.uri`);
      else if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("/") || uri.split("/").includes("..")) problems.push(`result ${i}: uri ${uri} is not repository-relative`);
      if (!Number.isInteger(p?.region?.startLine) || p.region.startLine < 1) problems.push(`result ${i}: no region.startLine`);
    });
  }
  return problems;
}
