import { randomBytes, randomUUID } from "node:crypto";

const ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** Prediction and training ids: 26 lower-case base32 characters, like "hdwst0bb05rgp0cf0p29mzk2am". */
export function jobId(): string {
  const bytes = randomBytes(26);
  let id = "";
  for (const b of bytes) id += ID_ALPHABET[b % 32];
  return id;
}

/** Version ids: 64 hex digits. */
export function versionId(): string {
  return randomBytes(32).toString("hex");
}

/** File ids are the base64 of a UUID: "NGZiNmY2YzQtMThhZi00ZjcyLWFhZjktODg4NTY0NWNlMDEy". */
export function fileId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID()).toString("base64");
    if (/^[A-Za-z0-9]+$/.test(id)) return id;
  }
}

export function webhookMessageId(): string {
  return `msg_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x")}`;
}
