// @ts-check
import js from "@eslint/js"
import tseslint from "typescript-eslint"

const KRATOS_TRANSPORTS = [
  { name: "axios", message: "call Kratos through webhooks/kratos/" },
  { name: "@ory/client", message: "call Kratos through webhooks/kratos/" },
]
const HTTP_TRANSPORTS = ["node:http", "node:https", "http", "https"].map((name) => ({
  name,
  message: "the domain talks to no transport: call webhooks/kratos/",
}))
const HTTP_TRANSPORT_PATTERNS = [
  { group: ["axios/*"], message: "the domain talks to no transport: call webhooks/kratos/" },
]
const DATABASE_ACCESS = [
  {
    group: ["drizzle-orm", "drizzle-orm/*"],
    message: "put the query in a webhooks/data/ repository",
  },
  {
    group: ["**/db/raw", "**/db/schema"],
    message: "put the query in a webhooks/data/ repository",
  },
]

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
    rules: { "no-restricted-imports": ["error", { paths: KRATOS_TRANSPORTS }] },
  },
  {
    // The domain's use cases decide; the repositories in webhooks/data/ hold the SQL and take
    // the handle (pool or transaction) to run on. audit.ts is the exception: the hash chain's
    // append, lock and verify are one piece with the hash they compute.
    files: ["webhooks/domain/**/*.ts"],
    ignores: ["webhooks/domain/audit.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [...KRATOS_TRANSPORTS, ...HTTP_TRANSPORTS],
          patterns: [...DATABASE_ACCESS, ...HTTP_TRANSPORT_PATTERNS],
        },
      ],
    },
  },
  {
    // The domain file excepted above still talks to no transport.
    files: ["webhooks/domain/audit.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [...KRATOS_TRANSPORTS, ...HTTP_TRANSPORTS], patterns: HTTP_TRANSPORT_PATTERNS },
      ],
    },
  },
  {
    // Handlers parse, make one call into the domain and answer: no SQL, no repository.
    files: ["webhooks/routes/**/*.ts", "webhooks/middleware/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: KRATOS_TRANSPORTS,
          patterns: [
            ...DATABASE_ACCESS,
            { group: ["**/data/*"], message: "call the use case in webhooks/domain/" },
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
