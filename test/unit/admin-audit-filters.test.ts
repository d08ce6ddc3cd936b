import { idPrefix, idRange } from "../../webhooks/policy/id-prefix"
import {
  apiQuery,
  filtersOf,
  localDay,
  PERSON_PROBLEM,
  problemsOf,
} from "../../ui/src/admin/audit-filters"

const id = "0b6d8a52-3f0e-4c1b-9d7e-2a4f5c6b7d8e"
const filters = (query: string) => filtersOf(new URLSearchParams(query))

describe("the audit log's filters", () => {
  it("when the address holds every filter, then they are read trimmed", () => {
    expect(
      filters(`event=admin.2fa_reset&actor=${id}&subject=+${id}+&from=2026-03-02&to=2026-03-04`),
    ).toEqual({
      event: "admin.2fa_reset",
      actor: id,
      subject: id,
      from: "2026-03-02",
      to: "2026-03-04",
    })
  })

  it("when ids and dates are malformed or the range is backwards, then each field says what to fix", () => {
    expect(problemsOf(filters("actor=alice&subject=42&from=2026-02-30&to=tomorrow"))).toEqual({
      actor: PERSON_PROBLEM,
      subject: PERSON_PROBLEM,
      from: "Enter a date.",
      to: "Enter a date.",
    })
    expect(problemsOf(filters("from=2026-03-05&to=2026-03-04"))).toEqual({
      to: "The end is before the start.",
    })
    expect(problemsOf(filters(`actor=${id.toUpperCase()}&from=2026-03-04&to=2026-03-04`))).toEqual(
      {},
    )
  })

  it("when a date range is given, then the API gets local midnights with the end day included", () => {
    const q = apiQuery(filters(`actor=${id.toUpperCase()}&from=2026-03-02&to=2026-03-04`))
    expect(q.get("actor")).toBe(id)
    expect(q.get("from")).toBe(new Date(2026, 2, 2).toISOString())
    expect(q.get("to")).toBe(new Date(2026, 2, 5).toISOString())
    expect(q.has("subject")).toBe(false)
  })

  it("when a date is not a real day, then it is neither parsed nor sent", () => {
    expect(localDay("2026-02-29")).toBeNull()
    expect(localDay("2028-02-29")?.getDate()).toBe(29)
    expect(localDay("2026-1-2")).toBeNull()
    expect(apiQuery(filters("from=2026-13-01&to=nope")).toString()).toBe("")
  })

  it("when an id is given by the 8 characters the log shows, or more, then it is sent in lower case as a prefix", () => {
    expect(
      problemsOf(filters(`actor=${id.slice(0, 8).toUpperCase()}&subject=${id.slice(0, 13)}`)),
    ).toEqual({})
    const q = apiQuery(filters(`actor=${id.slice(0, 8).toUpperCase()}&subject=${id.slice(0, 13)}`))
    expect(q.get("actor")).toBe(id.slice(0, 8))
    expect(q.get("subject")).toBe(id.slice(0, 13))
    // Too short, a hyphen out of place, a character no id has: refused before any request.
    for (const bad of ["0b6", "0b6d8a5-2", "0b6d8a52x", "0b6d8a52-3f0e-4c1b-9d7e-2a4f5c6b7d8e0"])
      expect(problemsOf(filters(`subject=${bad}`))).toEqual({ subject: PERSON_PROBLEM })
  })
})

describe("an id prefix", () => {
  it("when it is the start of an id, then every id starting with it lies in its range and no other", () => {
    expect(idPrefix("0B6D8A52")).toBe("0b6d8a52")
    expect(idPrefix(" 0b6d8a52")).toBeNull()
    expect(idPrefix(id)).toBe(id)
    expect(idPrefix("0b6d8a52-")).toBe("0b6d8a52-")
    expect(idPrefix("0b6d_a52")).toBeNull()
    const { lo, hi } = idRange("0b6d8a52-3f")
    expect(lo).toBe("0b6d8a52-3f00-0000-0000-000000000000")
    expect(hi).toBe("0b6d8a52-3fff-ffff-ffff-ffffffffffff")
    expect(lo <= id && id <= hi).toBe(true)
    const other = "0b6d8a52-4000-4c1b-9d7e-2a4f5c6b7d8e"
    expect(lo <= other && other <= hi).toBe(false)
    expect(idRange(id)).toEqual({ lo: id, hi: id })
  })
})
