/**
 * The store of an SDK object created with `database: false`: it opens nothing, and any use is a
 * clear configuration error instead of a connection attempt. Preparing photos needs no database.
 */
import { ConfigError } from "../errors.js";
import { quoteIdent, type Database } from "./types.js";

export function noDatabase(schema: string): Database {
  const refuse = async (): Promise<never> => {
    throw new ConfigError(
      "This sselfie object was created with `database: false`: only dataset preparation is available on it.",
      {},
      "NO_DATABASE",
    );
  };
  return {
    kind: "pg",
    schema,
    s: quoteIdent(schema),
    query: refuse,
    exec: refuse,
    transaction: refuse,
    close: async () => undefined,
  };
}
