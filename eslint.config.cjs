// ESLint for kiln's JavaScript: the reader's script and the admin page's
// shortcuts (templates/), the Astro adapter (ssg-adapters/astro) and the
// Astro example's config, and the tests' OpenID provider (tests/*.mjs). scripts/lint runs it with the ESLint that
// scripts/install-tools puts in target/kiln-tools/eslint, with NODE_PATH
// pointing at its node_modules, where the two packages below are found.
// (The .astro components and .ts files are TypeScript, which this does not
// parse.)
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {
    ignores: ["**/node_modules/", "target/", "examples/astro/dist/", "examples/astro/.astro/"],
  },
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-implicit-globals": "error",
      // kiln.js has a size budget (4 KB gzipped), and `catch {}` is its way
      // of going on without storage.
      "no-empty": ["error", { allowEmptyCatch: true }],
      "no-shadow": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "prefer-const": "error",
    },
  },
  {
    // Loaded by the baked pages as <script type="module">.
    files: ["templates/kiln.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    // The admin page's plain <script defer>, written for any browser.
    files: ["templates/admin.js"],
    languageOptions: { sourceType: "script", globals: globals.browser },
  },
  {
    // Node programs: the Astro adapter and example, and the OpenID provider
    // the sign-in tests run.
    files: ["ssg-adapters/astro/**/*.js", "examples/astro/**/*.mjs", "tests/*.mjs"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
  {
    files: ["eslint.config.cjs"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
  },
];
