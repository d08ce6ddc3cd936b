import { csvCell, decodeCursor, encodeCursor } from "../../webhooks/domain/audit-queries"

describe("audit query helpers", () => {
  it("when a cursor is encoded, then it is base64url and decodes back to the id", () => {
    const c = encodeCursor(12345)
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(c)).toBe(12345)
  })

  it("when a cursor is garbage, then it decodes to null", () => {
    for (const c of [
      "",
      "abc",
      "!!!",
      Buffer.from('{"v":1,"id":-1}').toString("base64url"),
      Buffer.from('{"id":5}').toString("base64url"),
      "x".repeat(100),
    ]) {
      expect(decodeCursor(c)).toBeNull()
    }
  })

  it("when cells hold separators, quotes or formulas, then they are escaped", () => {
    expect(csvCell(null)).toBe("")
    expect(csvCell(42)).toBe("42")
    expect(csvCell("plain")).toBe("plain")
    expect(csvCell('a,"b"\nc')).toBe('"a,""b""\nc"')
    expect(csvCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)")
    expect(csvCell("+1")).toBe("'+1")
    expect(csvCell("-1,2")).toBe(`"'-1,2"`)
    expect(csvCell("@SUM")).toBe("'@SUM")
    expect(csvCell({ a: "x,y" })).toBe('"{""a"":""x,y""}"')
    expect(csvCell(new Date("2026-01-02T03:04:05.000Z"))).toBe("2026-01-02T03:04:05.000Z")
  })
})
