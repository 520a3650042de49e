/**
 * Network failures that asking again cannot change: the host does not exist (DNS NXDOMAIN), its
 * certificate is refused, or fetch will not connect to the port at all. Retrying them only makes
 * the caller wait (six attempts with backoff took 15 s for a misspelt host) before the same answer.
 * A temporary DNS failure (EAI_AGAIN), a refused or reset connection and a timeout can change, and
 * are retried.
 */

/** Node's TLS verification codes (OpenSSL's X509_V_ERR_* names) and the host-name check. */
const CERTIFICATE = /^(CERT_|ERR_TLS_CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(GET_ISSUER_CERT|GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE|DECRYPT_CERT_SIGNATURE)$|HOSTNAME_MISMATCH$|INVALID_CA$|ERR_SSL_WRONG_VERSION_NUMBER$)/;

/**
 * Why `error` (from fetch, with its causes) cannot change on a retry, as a clause for a message;
 * undefined when it might. `network` is the first `code` found in the error's causes.
 */
export function permanentFailure(error: unknown, network: string | undefined, url: URL): string | undefined {
  if (network === "ENOTFOUND") return `the host ${url.hostname} does not exist (DNS answered ENOTFOUND)`;
  if (network !== undefined && CERTIFICATE.test(network)) {
    return `the TLS certificate of ${url.host} was refused (${network}${innermost(error) ? `: ${innermost(error)}` : ""})`;
  }
  // undici names these without a code: a port the Fetch standard blocks (e.g. 9 or 6000), a scheme it cannot fetch.
  const message = innermost(error);
  if (message === "bad port") return `fetch refuses to connect to port ${url.port} (a port the Fetch standard blocks)`;
  if (message === "unknown scheme") return `fetch cannot use the scheme ${url.protocol}`;
  return undefined;
}

function innermost(error: unknown): string | undefined {
  let current: unknown = error;
  let message: string | undefined;
  for (let i = 0; i < 5 && current instanceof Error; i++) {
    message = current.message;
    current = current.cause;
  }
  return message;
}
