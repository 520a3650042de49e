/**
 * `node --import <this file> ...`: records the URL of every module the process imports, one a line,
 * in the file named by SSELFIE_TEST_IMPORTS_LOG (ESM imports and import(); not require()).
 */
import { register } from "node:module";

register(new URL("./record-imports-hooks.mjs", import.meta.url), { data: { log: process.env.SSELFIE_TEST_IMPORTS_LOG } });
