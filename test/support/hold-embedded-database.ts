/**
 * A second process for the embedded-database lock tests, run with `node --import tsx`:
 *
 *   hold-embedded-database.ts <home> <lockTimeoutMs> [exit-without-close]
 *
 * Opens the database, prints one JSON line ({"opened":true,"users":n} or {"error":{code,message}}),
 * then, unless told to exit at once, waits for stdin to end and closes it.
 */
import { openDatabase } from "../../src/db/connect.js";
import { isSselfieError } from "../../src/errors.js";

const [home = "", timeout = "5000", mode] = process.argv.slice(2);
try {
  const db = await openDatabase({ home, lockTimeoutMs: Number(timeout) });
  const users = (await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${db.s}.users`)).rows[0]?.n;
  process.stdout.write(`${JSON.stringify({ opened: true, users })}\n`);
  if (mode === "exit-without-close") process.exit(0);
  process.stdin.resume();
  process.stdin.on("end", () => {
    void db.close().then(() => process.exit(0));
  });
} catch (err) {
  const e = isSselfieError(err) ? err.toJSON() : { code: "UNEXPECTED", message: String(err) };
  process.stdout.write(`${JSON.stringify({ error: e })}\n`);
  process.exit(1);
}
