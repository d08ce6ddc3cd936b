import { MAX_THROTTLED_SECONDS, readRefusal, throttledCountdownText } from "../../ui/src/refusal"

const NOW = 1_800_000_000_000
const read = (pathAndQuery: string) => readRefusal(`https://id.example.com${pathAndQuery}`, NOW)

describe("reading the proxy's refusal from a flow page's address", () => {
  it("when the login page is opened with throttled=<seconds>, then the block ends that many seconds from now and the address keeps only the other parameters", () => {
    expect(read("/login?flow=f1&throttled=90&return_to=%2Fsettings")).toEqual({
      found: {
        page: "login",
        flowId: "f1",
        refusal: { kind: "throttled", seconds: 90, until: NOW + 90_000 },
      },
      cleaned: "/login?flow=f1&return_to=%2Fsettings",
    })
  })

  it("when the seconds are huge, then they are clamped to a day", () => {
    for (const value of [String(MAX_THROTTLED_SECONDS + 1), "99999999999999", "9".repeat(400)]) {
      expect(read(`/login?flow=f1&throttled=${value}`).found?.refusal).toEqual({
        kind: "throttled",
        seconds: MAX_THROTTLED_SECONDS,
        until: NOW + MAX_THROTTLED_SECONDS * 1000,
      })
    }
  })

  it("when the seconds are not a positive whole number in plain digits, then nothing is shown but the parameter still leaves the address", () => {
    for (const value of [
      "",
      "0",
      "000",
      "-5",
      "+5",
      "1e3",
      "12.5",
      " 30",
      "30 ",
      "0x10",
      "٣٠",
      "<b>5</b>",
    ]) {
      expect(read(`/login?flow=f1&throttled=${encodeURIComponent(value)}`)).toEqual({
        found: null,
        cleaned: "/login?flow=f1",
      })
    }
  })

  it("when settings or registration are opened with password_policy=failed, then the refusal is bound to that flow and tab and reason stay", () => {
    expect(
      read("/settings?flow=s1&tab=security&password_policy=failed&reason=force_change"),
    ).toEqual({
      found: { page: "settings", flowId: "s1", refusal: { kind: "password_failed" } },
      cleaned: "/settings?flow=s1&tab=security&reason=force_change",
    })
    expect(read("/registration?flow=r1&password_policy=failed").found).toEqual({
      page: "registration",
      flowId: "r1",
      refusal: { kind: "password_failed" },
    })
  })

  it("when password_policy=sso_required, then only the settings page knows it", () => {
    expect(read("/settings?flow=s1&password_policy=sso_required").found?.refusal).toEqual({
      kind: "sso_required",
    })
    expect(read("/registration?flow=r1&password_policy=sso_required")).toEqual({
      found: null,
      cleaned: "/registration?flow=r1",
    })
  })

  it("when password_policy=reused, then only the settings page knows it", () => {
    expect(read("/settings?flow=s1&password_policy=reused").found?.refusal).toEqual({
      kind: "password_reused",
    })
    expect(read("/registration?flow=r1&password_policy=reused")).toEqual({
      found: null,
      cleaned: "/registration?flow=r1",
    })
  })

  it("when the value is unknown, then it is ignored and removed", () => {
    for (const value of ["FAILED", "fail", "failed ", "<script>", "sso"]) {
      expect(read(`/settings?flow=s1&password_policy=${encodeURIComponent(value)}`)).toEqual({
        found: null,
        cleaned: "/settings?flow=s1",
      })
    }
  })

  it("when the parameter is repeated, then the first value counts and every copy is removed", () => {
    expect(read("/login?flow=f1&throttled=30&throttled=9999")).toEqual({
      found: {
        page: "login",
        flowId: "f1",
        refusal: { kind: "throttled", seconds: 30, until: NOW + 30_000 },
      },
      cleaned: "/login?flow=f1",
    })
  })

  it("when there is no flow id to bind it to, then nothing is shown", () => {
    expect(read("/login?throttled=30")).toEqual({ found: null, cleaned: "/login" })
    expect(read("/settings?flow=&password_policy=failed")).toEqual({
      found: null,
      cleaned: "/settings?flow=",
    })
  })

  it("when another page or another page's parameter is in the address, then it is left alone", () => {
    expect(read("/recovery?flow=x&throttled=30")).toEqual({ found: null, cleaned: null })
    expect(read("/settings?flow=s1&throttled=30")).toEqual({ found: null, cleaned: null })
    expect(read("/login?flow=f1&password_policy=failed")).toEqual({ found: null, cleaned: null })
    expect(read("/login?flow=f1")).toEqual({ found: null, cleaned: null })
  })

  it("when the page path has a trailing slash, then it is still the login page", () => {
    expect(read("/login/?flow=f1&throttled=5").found?.page).toBe("login")
  })
})

describe("the countdown text", () => {
  it("says minutes (rounded up) while a minute or more is left, then seconds", () => {
    expect(throttledCountdownText(3600)).toBe("Too many failed attempts. Try again in 60 minutes.")
    expect(throttledCountdownText(61)).toBe("Too many failed attempts. Try again in 2 minutes.")
    expect(throttledCountdownText(60)).toBe("Too many failed attempts. Try again in 1 minute.")
    expect(throttledCountdownText(59)).toBe("Too many failed attempts. Try again in 59 seconds.")
    expect(throttledCountdownText(1)).toBe("Too many failed attempts. Try again in 1 second.")
  })
})
