import { spawnSync } from "node:child_process"
import path from "node:path"
import { normalizeIdentifier } from "../../webhooks/proxy/canonical"

/**
 * The limiter keys password guesses on the identifier as Kratos matches it. The ground truth is
 * Go itself: `strings.ToLower(strings.TrimSpace(s))` run by the Go toolchain (which builds
 * Kratos here), for every Unicode code point at both ends of an identifier.
 *
 * What must hold is that two spellings Go takes for one account share one key: the key of a
 * spelling equals the key of Go's normal form of it. Node's Unicode tables are newer than Go's,
 * so Node lower-cases a few dozen recent letters Go leaves alone; those spellings share a key
 * with their lower-case form (two accounts to Kratos, counted together here), which errs on the
 * side of counting.
 */
describe("identifier normalisation, checked against Go", () => {
  it("when every code point surrounds an identifier, then the result is Go's ToLower(TrimSpace) for each one", () => {
    const inputs: string[] = []
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue
      const c = String.fromCodePoint(cp)
      inputs.push(`${c}Kiwi@Example.COM${c}`)
    }
    const go = spawnSync("go", ["run", path.join(__dirname, "go-oracle", "normalize.go")], {
      input: inputs.map((s) => JSON.stringify(s)).join("\n") + "\n",
      env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "" },
      maxBuffer: 256 * 1024 * 1024,
      encoding: "utf8",
    })
    if (go.status !== 0) throw new Error(`go run failed: ${go.stderr}`)
    const expected = go.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as string)
    expect(expected).toHaveLength(inputs.length)
    const split: string[] = []
    let exact = 0
    inputs.forEach((input, i) => {
      const key = normalizeIdentifier(input)
      if (key === expected[i]) exact++
      if (key !== normalizeIdentifier(expected[i]!)) {
        split.push(`U+${input.codePointAt(0)!.toString(16).padStart(4, "0")}`)
      }
    })
    expect(split).toEqual([])
    // Go's own result nearly everywhere; the rest are letters newer than Go's Unicode tables.
    expect(inputs.length - exact).toBeLessThan(200)
  }, 120_000)

  it("when an identifier has the spellings of the security test, then they meet Go's", () => {
    expect(normalizeIdentifier("kiwi@example.com\u0085")).toBe("kiwi@example.com")
    expect(normalizeIdentifier("K\u0130W\u0130@EXAMPLE.COM")).toBe("kiwi@example.com")
    expect(normalizeIdentifier("\ufeffkiwi@example.com")).toBe("\ufeffkiwi@example.com")
    expect(normalizeIdentifier("\u212aiwi@example.com")).toBe("kiwi@example.com")
    expect(normalizeIdentifier("ΟΔΟΣ@example.com")).toBe("οδοσ@example.com")
  })
})
