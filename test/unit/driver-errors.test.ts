import { isDriverWriteAfterClose } from "../../db/client"

/** The shape of the postgres.js 3.4.9 crash: thrown from a deferred write, outside any query. */
function driverCrash(): TypeError {
  const err = new TypeError("Cannot read properties of null (reading 'write')")
  err.stack = [
    `TypeError: ${err.message}`,
    "    at Immediate.nextWrite (/app/node_modules/postgres/cjs/src/connection.js:255:22)",
    "    at process.processImmediate (node:internal/timers:483:21)",
  ].join("\n")
  return err
}

describe("the Postgres driver's write after close", () => {
  it("when the driver writes to a closed connection, then it is recognised (and the pool gets replaced)", () => {
    expect(isDriverWriteAfterClose(driverCrash())).toBe(true)
  })

  it("when a reset arrives on a socket the driver already let go of, then it is recognised too", () => {
    const err = Object.assign(new Error("read ECONNRESET"), {
      code: "ECONNRESET",
      syscall: "read",
      errno: -104,
      stack:
        "Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:218:20)",
    })
    expect(isDriverWriteAfterClose(err)).toBe(true)
  })

  it.each([
    [
      "a reset thrown from our own code",
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" }),
    ],
    [
      "the same message from our own code",
      new TypeError("Cannot read properties of null (reading 'write')"),
    ],
    ["another TypeError", new TypeError("x is not a function")],
    ["a plain error", new Error("boom")],
    ["a non-error", "nextWrite postgres"],
  ])("when it is %s, then it stays fatal", (_what, err) => {
    expect(isDriverWriteAfterClose(err)).toBe(false)
  })
})
