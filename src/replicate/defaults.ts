/** Replicate's API, for the gateway and for the configuration's default (a module of its own, so config.ts loads nothing else). */
export const DEFAULT_BASE_URL = "https://api.replicate.com/v1";
