import { ConfigError, loadConfig } from "../../webhooks/config"

const valid = { KRATOS_WEBHOOK_API_KEY: "k".repeat(32) }

describe("service configuration", () => {
  it("when only the webhook key is given, then every other setting has a working local default", () => {
    const c = loadConfig(valid)
    expect(c.PORT).toBe(4455)
    expect(c.PUBLIC_URL).toBe("http://localhost:4455")
    expect(c.DATABASE_URL).toBeUndefined()
    expect(c.SECURITY_TEAM_EMAILS).toEqual([])
  })

  it("when several settings are wrong, then the error lists each of them at once", () => {
    let err: unknown
    try {
      loadConfig({
        KRATOS_WEBHOOK_API_KEY: "short",
        PORT: "99999",
        DATABASE_URL: "mysql://x",
        PUBLIC_URL: "ftp://x",
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    const problems = (err as ConfigError).problems.join("\n")
    expect(problems).toMatch(/KRATOS_WEBHOOK_API_KEY: must be at least 32 characters/)
    expect(problems).toMatch(/PORT/)
    expect(problems).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL/)
    expect(problems).toMatch(/PUBLIC_URL/)
  })

  it("when running in production without DATABASE_URL, then it refuses to start on the embedded database", () => {
    expect(() => loadConfig({ ...valid, NODE_ENV: "production" })).toThrow(
      /DATABASE_URL: is required in production/,
    )
  })

  it("when a variable is set but empty, then it counts as unset", () => {
    expect(loadConfig({ ...valid, DATABASE_URL: "" }).DATABASE_URL).toBeUndefined()
  })

  it("when security team addresses are listed, then they are split and each must be an email", () => {
    expect(
      loadConfig({ ...valid, SECURITY_TEAM_EMAILS: "a@x.io, b@y.io" }).SECURITY_TEAM_EMAILS,
    ).toEqual(["a@x.io", "b@y.io"])
    expect(() => loadConfig({ ...valid, SECURITY_TEAM_EMAILS: "a@x.io,nope" })).toThrow(ConfigError)
  })
})

describe("hook delivery retention", () => {
  it("when HOOK_DELIVERY_RETENTION_DAYS is unset, then deliveries are kept 7 days; a set value between 1 and 3650 is taken", () => {
    expect(loadConfig(valid).HOOK_DELIVERY_RETENTION_DAYS).toBe(7)
    expect(
      loadConfig({ ...valid, HOOK_DELIVERY_RETENTION_DAYS: "30" }).HOOK_DELIVERY_RETENTION_DAYS,
    ).toBe(30)
  })

  it("when HOOK_DELIVERY_RETENTION_DAYS is 0, negative, fractional or not a number, then the service refuses to start", () => {
    for (const v of ["0", "-1", "1.5", "week", "3651"]) {
      expect(() => loadConfig({ ...valid, HOOK_DELIVERY_RETENTION_DAYS: v })).toThrow(
        /HOOK_DELIVERY_RETENTION_DAYS/,
      )
    }
  })
})
