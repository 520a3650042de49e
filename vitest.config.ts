import { defineConfig, type Plugin } from "vitest/config";

/** Imports a `.sql` file as its text, as tsup's `loader: { ".sql": "text" }` does for the bundle. */
function sqlAsText(): Plugin {
  return {
    name: "sql-as-text",
    transform(code, id) {
      if (!id.endsWith(".sql")) return null;
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

export default defineConfig({
  plugins: [sqlAsText()],
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    globalSetup: ["test/support/global-setup.ts"],
  },
});
