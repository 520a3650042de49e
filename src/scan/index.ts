export { scanCode } from "./run-scan.js";
export { toScanSarif, type ScanSarifOptions } from "./sarif.js";
export { SCAN_RULES, USE_THE_SDK, scanRule, type ScanRule, type ScanRuleId } from "./rules.js";
export { SOURCE_EXTENSIONS, SKIPPED_DIRECTORIES } from "./files.js";
export type { ScanFinding, ScanOptions, ScanParams, ScanParseError, ScanProgress, ScanReport } from "./types.js";
