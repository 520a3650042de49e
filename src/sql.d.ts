/** `.sql` files are bundled as text (tsup: esbuild's text loader; vitest: a plugin in vitest.config.ts). */
declare module "*.sql" {
  const text: string;
  export default text;
}
