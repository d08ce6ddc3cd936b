import { apiQuery, filtersOf, localDay, problemsOf } from "../../ui/src/admin/audit-filters"

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
      actor: "Enter a user id (a UUID).",
      subject: "Enter a user id (a UUID).",
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
})
