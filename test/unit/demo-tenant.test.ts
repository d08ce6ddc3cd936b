import { demoAccounts, demoRefusal, formatDemo, isLocalHost } from "../../scripts/demo-tenant"
import { checkPassword } from "../../webhooks/policy/password-rules"

describe("demoRefusal", () => {
  it("when NODE_ENV is production, then the demo is refused whatever else is set", () => {
    expect(demoRefusal({ NODE_ENV: "production" })).toMatch(/production/)
    expect(demoRefusal({ NODE_ENV: "production", DATABASE_URL: "postgres://127.0.0.1/x" })).toMatch(
      /production/,
    )
  })

  it.each([
    "postgres://kg:secret@db.internal.example.com:5432/kg",
    "postgresql://10.0.0.5/kg",
    "postgres://127.0.0.1,db.example.com/kg",
    "postgres://user@/kg?host=db.example.com",
    "postgres://[2001:db8::1]:5432/kg",
    "postgres://localhost.evil.example/kg",
  ])("when DATABASE_URL is %s, then the demo is refused and the host is named", (url) => {
    const why = demoRefusal({ DATABASE_URL: url })
    expect(why).toMatch(/not this machine/)
    expect(why).not.toContain("secret")
  })

  it.each([
    "postgres://postgres@127.0.0.1:5432/kg",
    "postgres://localhost/kg",
    "postgres://u:p@[::1]:5432/kg",
    "postgres:///kg",
    "postgres://u@/kg?host=/var/run/postgresql",
    "postgres://127.0.0.2,localhost:5433/kg",
  ])("when DATABASE_URL is %s, then the demo may run", (url) => {
    expect(demoRefusal({ DATABASE_URL: url })).toBeNull()
  })

  it("when DATABASE_URL can't be read, then the demo is refused", () => {
    expect(demoRefusal({ DATABASE_URL: "mysql://127.0.0.1/kg" })).toMatch(/can't be read/)
  })

  it("when the service is elsewhere, then the demo is refused; on loopback it may run", () => {
    expect(demoRefusal({}, "https://guard.acme.example")).toMatch(/not on this machine/)
    expect(demoRefusal({}, "http://127.0.0.1:4455")).toBeNull()
    expect(demoRefusal({}, "http://localhost:4455")).toBeNull()
    expect(demoRefusal({ NODE_ENV: "development" })).toBeNull()
  })

  it("loopback is 127.0.0.0/8, ::1 and localhost names, nothing that only starts like them", () => {
    for (const h of ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "LOCALHOST", "app.localhost"])
      expect(isLocalHost(h)).toBe(true)
    for (const h of ["127.0.0.1.nip.io", "10.0.0.1", "0.0.0.0", "localhost.example", "::2"])
      expect(isLocalHost(h)).toBe(false)
  })
})

describe("the demo accounts", () => {
  it("every printed password meets the password rules, and every address is unique", () => {
    const accounts = demoAccounts()
    for (const a of accounts) if (a.password) expect(checkPassword(a.password)).toEqual([])
    expect(new Set(accounts.map((a) => a.email)).size).toBe(accounts.length)
  })

  it("the table lists each account with its password, and the code it prints is the secret's", () => {
    // RFC 6238's SHA-1 test secret ("12345678901234567890"); at T = 59 s its 8-digit code is
    // 94287082, so the 6-digit one is 287082, valid 1 s more.
    const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    const table = formatDemo(
      {
        organisation: "Acme Financial Group",
        seededAt: "2026-01-01T00:00:00.000Z",
        serviceUrl: "http://localhost:4455",
        accounts: demoAccounts(),
        totpSecret: secret,
      },
      true,
      59_000,
    )
    for (const a of demoAccounts()) {
      const row = table.split("\n").find((l) => l.includes(a.email))
      expect(row).toContain(a.password ?? "(none yet)")
      expect(row).toContain(a.role)
    }
    expect(table).toContain(`authenticator secret: ${secret}`)
    expect(table).toContain("Current code: 287082 (1 s left")
  })
})
