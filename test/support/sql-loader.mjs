/**
 * Lets scripts run from source import `.sql` files as text, like the bundle and vitest do:
 *
 *   node --import ./test/support/sql-loader.mjs --import tsx bench/run.ts
 */
import { register } from "node:module";

const hooks = `
import { readFile } from "node:fs/promises";
export async function load(url, context, next) {
  if (!url.endsWith(".sql")) return next(url, context);
  const text = await readFile(new URL(url), "utf8");
  return { format: "module", source: "export default " + JSON.stringify(text) + ";", shortCircuit: true };
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
