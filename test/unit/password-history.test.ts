import { hashSync } from "bcryptjs"
import {
  bcryptCost,
  firstMatch,
  isVerifiable,
  keepsHistory,
  MAX_BCRYPT_COST,
  recentPasswords,
} from "../../webhooks/domain/password-history"

// Real bcrypt hashes at the lowest cost, as Kratos's test config makes them ($2a$, like Kratos).
const hash = (pw: string) => hashSync(pw, 4)
const p0 = hash("Blue-Harbour-Lantern-42!")
const p1 = hash("Quiet-Meadow-Compass-77?")
const p2 = hash("Fresh-Lighthouse-Quartz-81!")
const p3 = hash("Amber-Orchard-Signal-19#")

describe("password history: which hashes a new password is compared with", () => {
  it("when the current hash is also the newest kept one, then it is compared once and the window holds the last N passwords", () => {
    expect(recentPasswords(p3, [p3, p2, p1, p0], 3)).toEqual([p3, p2, p1])
  })

  it("when the current hash is not kept yet (registration, import, late post-persist), then it takes the newest place and the oldest drops out", () => {
    expect(recentPasswords(p3, [p2, p1, p0], 3)).toEqual([p3, p2, p1])
    expect(recentPasswords(p1, [p0], 5)).toEqual([p1, p0])
  })

  it("when the history is 0 or 1, then only the current password counts and nothing is kept", () => {
    expect(recentPasswords(p2, [p1, p0], 0)).toEqual([p2])
    expect(recentPasswords(p2, [p1, p0], 1)).toEqual([p2])
    expect(keepsHistory(0)).toBe(false)
    expect(keepsHistory(1)).toBe(false)
    expect(keepsHistory(2)).toBe(true)
  })

  it("when the identity has no password yet, then the kept hashes alone make the window", () => {
    expect(recentPasswords(null, [p1, p0], 5)).toEqual([p1, p0])
    expect(recentPasswords(null, [p1, p0], 0)).toEqual([])
  })

  it("whatever is kept, then the window is never longer than max(N, 1), so a check runs at most that many compares", () => {
    const kept = [p3, p2, p1, p0, p3, p2]
    for (let n = 0; n <= 6; n++) {
      const w = recentPasswords(p0, kept, n)
      expect(w.length).toBeLessThanOrEqual(Math.max(n, 1))
      expect(new Set(w).size).toBe(w.length)
      expect(w[0]).toBe(p0)
    }
  })
})

describe("password history: what can be verified", () => {
  it("when a hash is bcrypt in a form bcryptjs verifies, then its cost is read from it", () => {
    expect(bcryptCost(p0)).toBe(4)
    expect(bcryptCost(p0.replace("$2a$", "$2b$"))).toBe(4)
    expect(bcryptCost(p0.replace("$2a$", "$2y$"))).toBe(4)
    expect(isVerifiable(p0)).toBe(true)
  })

  it("when a hash is another format or bcrypt above the cost ceiling, then it is not verifiable (the check skips it)", () => {
    expect(isVerifiable("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo")).toBe(false)
    expect(isVerifiable("$pbkdf2-sha256$i=1000,l=32$c2FsdA$aGFzaA")).toBe(false)
    expect(isVerifiable("{SSHA}aGFzaHNhbHQ=")).toBe(false)
    expect(isVerifiable(p0.replace("$04$", `$${MAX_BCRYPT_COST + 1}$`))).toBe(false)
    expect(isVerifiable(p0.replace("$04$", `$${MAX_BCRYPT_COST}$`))).toBe(true)
    expect(isVerifiable(p0.slice(0, -1))).toBe(false)
    expect(isVerifiable("")).toBe(false)
  })
})

describe("password history: comparing", () => {
  it("when the candidate is one of the hashes, then its index is found; otherwise -1", async () => {
    expect(await firstMatch("Fresh-Lighthouse-Quartz-81!", [p3, p2, p1])).toBe(1)
    expect(await firstMatch("Never-Used-Before-55%", [p3, p2, p1])).toBe(-1)
    expect(await firstMatch("Blue-Harbour-Lantern-42!", [])).toBe(-1)
  })

  it("when a hash matches, then the hashes after it are not compared", async () => {
    // A well-formed cost-31 hash would take days to compare: reaching it would time the test out.
    const endless = p1.replace("$04$", "$31$")
    const started = Date.now()
    expect(await firstMatch("Blue-Harbour-Lantern-42!", [p0, endless])).toBe(0)
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
