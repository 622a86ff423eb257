// ESLint (flat config): JavaScript's and typescript-eslint's recommended rules for the whole repository, without
// type information (fast enough for `npm test` on two cores); formatting is Prettier's (eslint-config-prettier
// turns off the rules it owns). `npm run lint`.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      "web/dist/",
      ".wrangler/",
      ".data/",
      "bench/runs/",
      "types/*.d.ts",
      "db/migrations/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module" },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring a field away, an ignored parameter).
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
        },
      ],
      // `catch {}` is how the code says "this failure changes nothing" (a best-effort cleanup, a probe).
      "no-empty": ["error", { allowEmptyCatch: true }],
      // Flags `let ok = false; try { ok = … } catch { … }`, a default the code states on purpose.
      "no-useless-assignment": "off",
    },
  },
  {
    // Tests, benches and scripts read arbitrary JSON answers.
    files: ["test/**", "bench/**", "scripts/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Preact hooks follow React's rules.
    files: ["web/src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "warn" },
  },
  {
    // Type declarations of globals (Cloudflare.Env) need `namespace`.
    files: ["**/*.d.ts", "test/workers/env.d.ts"],
    rules: { "@typescript-eslint/no-namespace": "off" },
  },
);
