/**
 * One gateway per Replicate account: each owner's token has its own client, its own requests in
 * flight and its own rate-limit waits (Replicate limits each account on its own), so one busy or
 * throttled owner never slows another. Keyed by token: two owner names sharing one token are one
 * account to Replicate, and share one gateway.
 */
import { createReplicateGateway, type ReplicateGateway, type ReplicateGatewayOptions } from "./gateway.js";

export interface GatewayPool {
  /** The gateway acting with `apiToken`; the same object every time for the same token. */
  forToken(apiToken: string): ReplicateGateway;
}

export function createGatewayPool(options: Omit<ReplicateGatewayOptions, "apiToken">): GatewayPool {
  const gateways = new Map<string, ReplicateGateway>();
  return {
    forToken(apiToken) {
      let gateway = gateways.get(apiToken);
      if (!gateway) {
        gateway = createReplicateGateway({ ...options, apiToken });
        gateways.set(apiToken, gateway);
      }
      return gateway;
    },
  };
}
