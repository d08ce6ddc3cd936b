import { hostileApiSuite } from "../harness/hostile-api-suite"

/** Every /api route under hostile input (test/harness/hostile-api-suite.ts): part 1 of 2. */
hostileApiSuite(0, 2)
