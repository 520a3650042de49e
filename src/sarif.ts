/**
 * The SARIF 2.1.0 frame shared by `audit` and `scan`: what GitHub code scanning requires of a log
 * (rules with descriptions and help; every result with a physical location, a repository-relative
 * URI and a region), the rest left to each tool.
 */
export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
export const SARIF_VERSION = "2.1.0";
export const INFORMATION_URI = "https://www.npmjs.com/package/sselfie";

export interface SarifRuleInput {
  id: string;
  shortDescription: string;
  fullDescription: string;
  help: string;
  properties?: Record<string, unknown>;
}

export interface SarifResultInput {
  ruleId: string;
  message: string;
  /** Repository-relative, forward slashes. */
  uri: string;
  line: number;
  column: number;
  logicalLocations?: Array<Record<string, string>>;
  partialFingerprints?: Record<string, string>;
  properties?: Record<string, unknown>;
}

/** `scan.shared-model` -> `ScanSharedModel`: SARIF's `name` is an identifier-like rule name. */
const ruleName = (id: string) => id.replace(/[.-](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase());

/** A percent-encoded relative URI reference for a path (spaces, `#`, `%` and the like). */
export function uriForPath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export function sarifLog(input: {
  tool: string;
  toolVersion?: string | undefined;
  rules: readonly SarifRuleInput[];
  results: readonly SarifResultInput[];
  invocationProperties?: Record<string, unknown>;
  runProperties?: Record<string, unknown>;
}): Record<string, unknown> {
  const ruleIndex = new Map(input.rules.map((r, i) => [r.id, i]));
  // `version` first, so that readers can sniff it (SARIF 2.1.0, 3.13.2).
  return {
    version: SARIF_VERSION,
    $schema: SARIF_SCHEMA,
    runs: [
      {
        tool: {
          driver: {
            name: input.tool,
            ...(input.toolVersion ? { version: input.toolVersion, semanticVersion: input.toolVersion } : {}),
            informationUri: INFORMATION_URI,
            rules: input.rules.map((r) => ({
              id: r.id,
              name: ruleName(r.id),
              shortDescription: { text: r.shortDescription },
              fullDescription: { text: r.fullDescription },
              help: { text: r.help },
              defaultConfiguration: { level: "error" },
              ...(r.properties ? { properties: r.properties } : {}),
            })),
          },
        },
        invocations: [{ executionSuccessful: true, ...(input.invocationProperties ? { properties: input.invocationProperties } : {}) }],
        results: input.results.map((r) => ({
          ruleId: r.ruleId,
          ...(ruleIndex.has(r.ruleId) ? { ruleIndex: ruleIndex.get(r.ruleId) } : {}),
          level: "error",
          message: { text: r.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: r.uri, uriBaseId: "%SRCROOT%" },
                region: { startLine: r.line, startColumn: r.column },
              },
              ...(r.logicalLocations ? { logicalLocations: r.logicalLocations } : {}),
            },
          ],
          ...(r.partialFingerprints ? { partialFingerprints: r.partialFingerprints } : {}),
          ...(r.properties ? { properties: r.properties } : {}),
        })),
        ...(input.runProperties ? { properties: input.runProperties } : {}),
      },
    ],
  };
}
