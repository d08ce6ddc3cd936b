// @ts-check
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "ui/dist/", ".data/", "test-output/", "db/migrations/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        __dirname: "readonly",
        require: "readonly",
        module: "writable",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/no-require-imports": "off",
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // Ids reach handlers only through routes/ids.ts, which lower-cases them: a raw zod UUID
    // would let an upper-case spelling of someone's id pass a "not yourself" comparison.
    files: ["webhooks/routes/**/*.ts"],
    ignores: ["webhooks/routes/ids.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name=/^(uuid|guid|uuidv[467])$/]",
          message: "parse ids with canonicalId() from webhooks/routes/ids.ts",
        },
      ],
    },
  },
  {
    // webhooks/kratos/ is the one gateway to Kratos: its transport, the caller's credentials,
    // and every admin and public call.
    files: ["webhooks/**/*.ts"],
    ignores: ["webhooks/kratos/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "axios", message: "call Kratos through webhooks/kratos/" },
            { name: "@ory/client", message: "call Kratos through webhooks/kratos/" },
          ],
        },
      ],
    },
  },
  {
    files: [
      "scripts/**",
      "db/migrate.ts",
      "kratos/render-config.ts",
      "test/harness/**",
      "bench/**",
    ],
    rules: { "no-console": "off" },
  },
)
