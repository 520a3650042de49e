/** Bearer (or legacy `Token`) authentication; anything else is Replicate's 401. */
import type { IncomingHttpHeaders } from "node:http";
import { problem, type Reply } from "./http-util.js";
import type { Account, State } from "./state.js";

export function authenticate(state: State, headers: IncomingHttpHeaders): Account | undefined {
  const m = /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(headers.authorization ?? "");
  return m ? state.accountsByToken.get(m[1]!) : undefined;
}

export function unauthenticated(): Reply {
  return problem(401, "You did not pass a valid authentication token", { title: "Unauthenticated" });
}
