/**
 * Dollars in text output: at least cents, up to 4 decimals, so a cap reads "$10.00" and a spend
 * of a fraction of a cent (a generation costs about $0.0002 to $0.03) does not read "$0.00". The
 * JSON keeps the exact amounts.
 */
export function dollars(usd: number): string {
  const [whole, fraction] = usd.toFixed(4).split(".") as [string, string];
  return `$${whole}.${fraction.replace(/0{1,2}$/, "")}`;
}
