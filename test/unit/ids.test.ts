import { identityId } from "../../webhooks/routes/ids"

const ID = "0b3f7d8e-1c2a-4f5e-9a7b-123456789abc"

describe("ids at the edge", () => {
  it("when an id comes in upper or mixed case, then it is parsed into its lower-case spelling", () => {
    expect(identityId.parse(ID.toUpperCase())).toBe(ID)
    expect(identityId.parse("0B3f7D8e-1C2a-4F5e-9A7b-123456789AbC")).toBe(ID)
    expect(identityId.parse(ID)).toBe(ID)
  })

  it("when an id comes in a spelling only Kratos's parser takes, then it is refused", () => {
    for (const spelled of [
      `{${ID}}`,
      `urn:uuid:${ID}`,
      ID.replace(/-/g, ""),
      ` ${ID}`,
      `${ID}\n`,
      ID.slice(0, -1),
    ]) {
      expect([spelled, identityId.safeParse(spelled).success]).toEqual([spelled, false])
    }
  })
})
