import { z } from "zod"
import { checkPassword, passwordRules, passwordSchema } from "../../webhooks/policy/password-rules"

const failing = (pw: string) => checkPassword(pw).map((r) => r.key)

describe("password rules", () => {
  it("when a password meets every rule, then nothing fails and the schema accepts it", () => {
    expect(checkPassword("Blue-Harbour-Lantern-42!")).toEqual([])
    expect(passwordSchema.safeParse("Blue-Harbour-Lantern-42!").success).toBe(true)
  })

  it("when a password is one character short, then only the length rule fails", () => {
    expect(failing("Abcdefgh1!x")).toEqual(["min_length"])
    expect(failing("Abcdefgh1!xy")).toEqual([])
  })

  it("when a password has no uppercase letter, then only the uppercase rule fails", () => {
    expect(failing("lowercase-only-42")).toEqual(["uppercase"])
  })

  it("when a password has no digit, then only the number rule fails", () => {
    expect(failing("No-Digits-At-All!")).toEqual(["digit"])
  })

  it("when a password has no symbol, then only the symbol rule fails", () => {
    expect(failing("NoSymbolsHere42")).toEqual(["symbol"])
  })

  it("when a password is longer than 72 bytes, then only the byte limit fails", () => {
    const pw = `Aa1!${"x".repeat(68)}`
    expect(new TextEncoder().encode(pw)).toHaveLength(72)
    expect(failing(pw)).toEqual([])
    expect(failing(`${pw}x`)).toEqual(["max_bytes"])
  })

  it("when multi-byte characters push a short password past 72 bytes, then the byte limit fails although it has few characters", () => {
    // 25 characters, 4 bytes each after the first four: 4 + 21 × 4 = 88 bytes
    const pw = `Aa1!${"😀".repeat(21)}`
    expect([...pw]).toHaveLength(25)
    expect(failing(pw)).toEqual(["max_bytes"])
  })

  it("when a password breaks three rules, then all three are reported, in rule order", () => {
    expect(failing("alllowercaseletters")).toEqual(["uppercase", "digit", "symbol"])
    const res = passwordSchema.safeParse("alllowercaseletters")
    expect(res.success).toBe(false)
    expect(res.error?.issues.map((i) => (i as { params?: { id: number } }).params?.id)).toEqual([
      4100002, 4100003, 4100004,
    ])
    expect(res.error?.issues.map((i) => i.message)).toEqual([
      "At least one uppercase letter",
      "At least one number",
      "At least one symbol (e.g. ! ? # %)",
    ])
  })

  it("when the password is empty, then the four composition rules fail and the byte limit holds", () => {
    expect(failing("")).toEqual(["min_length", "uppercase", "digit", "symbol"])
  })

  it("when letters, digits and symbols come from other scripts, then they count", () => {
    // Greek capital, Arabic-Indic digit, euro sign
    expect(failing("Ωmega-secret-word٣")).toEqual([])
    expect(failing("ÄÖÜäöüßàéè€7")).toEqual([])
    // Devanagari digit seven, an emoji as the symbol
    expect(failing("Passwortlang७😀")).toEqual([])
  })

  it("when length is counted, then it counts characters, not bytes or UTF-16 units", () => {
    // 11 characters (emoji are one each) but 20+ bytes: still too short
    expect(failing("Aa1😀😀😀😀😀😀😀😀")).toEqual(["min_length"])
    expect(failing("Aa1😀😀😀😀😀😀😀😀😀")).toEqual([])
  })

  it("when only a lowercase accented letter, spaces or combining marks are present, then they are not uppercase or symbols", () => {
    // "é" written as e + U+0301 (a combining mark), and spaces: neither counts as a symbol
    expect(failing("cafe\u0301 latte 12345 X")).toEqual(["symbol"])
    expect(failing("éééééééééé1!")).toEqual(["uppercase"])
  })

  it("when the rules are listed, then ids, keys and texts are the ones the UI shows", () => {
    expect(passwordRules.map(({ id, key, text }) => ({ id, key, text }))).toEqual([
      { id: 4100001, key: "min_length", text: "At least 12 characters" },
      { id: 4100002, key: "uppercase", text: "At least one uppercase letter" },
      { id: 4100003, key: "digit", text: "At least one number" },
      { id: 4100004, key: "symbol", text: "At least one symbol (e.g. ! ? # %)" },
      { id: 4100005, key: "max_bytes", text: "At most 72 bytes" },
    ])
  })

  it("when the schema is part of a form's schema, then each issue is reported under the field", () => {
    const form = z.object({ password: passwordSchema })
    const res = form.safeParse({ password: "short" })
    expect(res.success).toBe(false)
    expect(res.error?.issues.every((i) => i.path.join(".") === "password")).toBe(true)
    expect(res.error?.issues).toHaveLength(4)
  })
})
