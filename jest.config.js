// @ts-check
/** TypeScript goes through SWC (no type-check in tests: `npm run typecheck` does that). */
const transform = {
  "^.+\\.(t|j)sx?$": [
    "@swc/jest",
    {
      jsc: {
        parser: { syntax: "typescript", tsx: true },
        target: "es2022",
        transform: { react: { runtime: "automatic" } },
      },
      module: { type: "commonjs" },
    },
  ],
}

// otplib's crypto dependencies ship only ES modules; SWC turns them into CommonJS for jest.
const transformIgnorePatterns = ["/node_modules/(?!(otplib|@otplib|@scure|@noble)/)"]

/** @type {import('jest').Config} */
module.exports = {
  // Per-project testTimeout is ignored by jest-circus; browser tests need the most.
  testTimeout: 120000,
  reporters: ["default", "<rootDir>/test/harness/summary-reporter.js"],
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
    },
    {
      displayName: "integration",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      globalSetup: "<rootDir>/test/harness/global-setup.ts",
      globalTeardown: "<rootDir>/test/harness/global-teardown.ts",
    },
    {
      displayName: "e2e",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      testMatch: ["<rootDir>/test/e2e/**/*.e2e.test.ts"],
      globalSetup: "<rootDir>/test/harness/global-setup.ts",
      globalTeardown: "<rootDir>/test/harness/global-teardown.ts",
    },
    {
      // `npm run test:compose` only: test/compose/run.sh brings the stack up around it.
      displayName: "compose",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      testMatch: ["<rootDir>/test/compose/**/*.compose.test.ts"],
    },
  ],
}
