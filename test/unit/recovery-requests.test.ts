import fc from "fast-check"
import {
  approvalsNeeded,
  askRefusal,
  codeHash,
  codeMatches,
  decideApproval,
  denialRefusal,
  maskEmail,
  statusAt,
} from "../../webhooks/domain/recovery-requests"
import { recipientsFor } from "../../webhooks/domain/notifications/recipients"
import { renderNotification } from "../../webhooks/domain/notifications/templates"

const now = new Date("2026-12-02T10:00:00Z")
const later = (h: number) => new Date(now.getTime() + h * 3_600_000)
const PERSON = "7d0b0a4e-3c1b-4c7e-9d0b-4b1a1f0e0a01"
const open = (over: Partial<Parameters<typeof decideApproval>[0]["request"]> = {}) => ({
  status: "open" as const,
  expiresAt: later(72),
  identityId: PERSON,
  approvals: [],
  ...over,
})
const approve = (
  over: Partial<Parameters<typeof decideApproval>[0]> & { approverId?: string } = {},
) =>
  decideApproval({
    request: open(),
    approver: { id: over.approverId ?? "admin-1", role: "super_admin" },
    subjectRole: "member",
    fourEyes: true,
    now,
    ...over,
  })

describe("who may ask for a lost-device reset", () => {
  const ok = {
    aal: "aal1",
    passwordSignIn: true,
    active: true,
    hasSecondFactor: true,
    emailVerified: true,
  }
  it("when signed in with a password at AAL1, active, with a factor and a verified address, then they may ask", () => {
    expect(askRefusal(ok)).toBeNull()
  })
  it.each([
    [{ active: false }, "deactivated"],
    [{ aal: "aal2" }, "second_factor_available"],
    [{ passwordSignIn: false }, "password_sign_in_required"],
    [{ hasSecondFactor: false }, "no_second_factor"],
    [{ emailVerified: false }, "email_not_verified"],
  ])("when %o, then the refusal is %s", (over, reason) => {
    expect(askRefusal({ ...ok, ...over })?.reason).toBe(reason)
  })
})

describe("deciding an approval", () => {
  it("when a member's request is approved once, then it is complete; an admin's needs two under four eyes, one without", () => {
    expect(approve()).toEqual({ kind: "complete", needed: 1 })
    expect(approve({ subjectRole: "admin" })).toEqual({ kind: "first", needed: 2 })
    expect(approve({ subjectRole: "admin", fourEyes: false })).toEqual({
      kind: "complete",
      needed: 1,
    })
    expect(
      approve({
        subjectRole: "super_admin",
        request: open({ approvals: [{ admin_id: "admin-2", at: now.toISOString() }] }),
      }),
    ).toEqual({ kind: "complete", needed: 2 })
  })

  it("when anyone approves their own request, in any state, then it is refused as their own", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("open", "approved", "denied", "expired", "verifying" as const),
        fc.constantFrom("member", "admin", "super_admin" as const),
        fc.boolean(),
        (status, role, fourEyes) => {
          const d = decideApproval({
            request: open({ status }),
            approver: { id: PERSON, role },
            subjectRole: role,
            fourEyes,
            now,
          })
          expect(d).toMatchObject({ kind: "refused", refusal: { reason: "own_request" } })
        },
      ),
    )
  })

  it("when the same admin approves twice, then the second is refused: a second admin is needed", () => {
    const d = approve({
      subjectRole: "admin",
      request: open({ approvals: [{ admin_id: "admin-1", at: now.toISOString() }] }),
    })
    expect(d).toMatchObject({ kind: "refused", refusal: { reason: "second_approver_required" } })
  })

  it("when an admin (not a super admin) approves an admin's request, then it is refused; a member's is theirs to approve", () => {
    const low = decideApproval({
      request: open(),
      approver: { id: "admin-1", role: "admin" },
      subjectRole: "admin",
      fourEyes: true,
      now,
    })
    expect(low).toMatchObject({ kind: "refused", refusal: { code: "FORBIDDEN", reason: "rank" } })
    expect(
      decideApproval({
        request: open(),
        approver: { id: "admin-1", role: "admin" },
        subjectRole: "member",
        fourEyes: true,
        now,
      }).kind,
    ).toBe("complete")
  })

  it("when the request is past its expiry or already decided, then it is a conflict naming the state", () => {
    expect(approve({ request: open({ expiresAt: now }) })).toMatchObject({
      refusal: { code: "CONFLICT", reason: "request_expired" },
    })
    expect(approve({ request: open({ status: "denied" }) })).toMatchObject({
      refusal: { reason: "request_denied" },
    })
    expect(
      denialRefusal({
        request: open({ status: "approved" }),
        admin: { id: "a", role: "super_admin" },
        subjectRole: "member",
        now,
      })?.reason,
    ).toBe("request_approved")
    expect(
      denialRefusal({
        request: open(),
        admin: { id: PERSON, role: "super_admin" },
        subjectRole: "member",
        now,
      })?.reason,
    ).toBe("own_request")
  })

  it("when an open request's expiry passes, then it reads as expired from that instant", () => {
    expect(statusAt(open(), later(71.99))).toBe("open")
    expect(statusAt(open(), later(72))).toBe("expired")
    expect(statusAt({ status: "denied", expiresAt: later(-1) }, now)).toBe("denied")
    expect(approvalsNeeded("member", true)).toBe(1)
    expect(approvalsNeeded("super_admin", true)).toBe(2)
  })
})

describe("the mailed code", () => {
  const row = (code: string, expiresAt = later(0.25)) => ({
    identityId: PERSON,
    codeHash: codeHash(PERSON, code),
    codeExpiresAt: expiresAt,
  })
  it("when the right code comes in time, then it matches; any other code, a late one, or another person's does not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, "0")),
        fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, "0")),
        (code, other) => {
          expect(codeMatches(row(code), code, now)).toBe(true)
          expect(codeMatches(row(code), other, now)).toBe(code === other)
          expect(codeMatches(row(code, now), code, now)).toBe(false)
          expect(codeMatches({ ...row(code), identityId: "someone-else" }, code, now)).toBe(false)
        },
      ),
      { numRuns: 200 },
    )
    expect(codeMatches({ ...row("123456"), codeHash: null }, "123456", now)).toBe(false)
  })

  it("when an address is masked, then only its first letter and domain show", () => {
    expect(maskEmail("jordan.lee@example.com")).toBe("j•••@example.com")
    expect(maskEmail("x")).toBe("•••")
  })

  it("when the code mail is rendered, then it shows the code from the context only, never one from details", () => {
    const mail = renderNotification("user.recovery_request_code", {
      subject: { id: PERSON, email: "p@example.com" },
      occurredAt: now,
      details: { code: "999999" },
      oneTimeCode: "482913",
    })
    expect(mail.text).toContain("Your code is 482913.")
    expect(mail.text).not.toContain("999999")
    const bad = renderNotification("user.recovery_request_code", {
      subject: { id: PERSON, email: "p@example.com" },
      occurredAt: now,
      oneTimeCode: "<b>1</b>",
    })
    expect(bad.html).not.toContain("<b>")
  })
})

describe("who hears about a recovery request", () => {
  const subject = { id: PERSON, email: "p@example.com", managerEmail: "boss@example.com" }
  const team = ["sec@example.com"]
  const kinds = (event: Parameters<typeof recipientsFor>[0]["event"]) =>
    recipientsFor({ event, subject, securityTeam: team }).map((r) => `${r.kind} ${r.to}`)
  it("when each step happens, then the person, the manager and the security team hear what concerns them", () => {
    expect(kinds("auth.recovery_request_code_sent")).toEqual([
      "user.recovery_request_code p@example.com",
    ])
    expect(kinds("auth.recovery_requested")).toEqual([
      "user.recovery_requested p@example.com",
      "recovery_requested.manager boss@example.com",
      "recovery_requested.security sec@example.com",
    ])
    expect(kinds("admin.recovery_request_first_approval")).toEqual([
      "recovery_request_second_approval.security sec@example.com",
    ])
    expect(kinds("admin.recovery_request_approved")).toEqual([
      "user.recovery_request_approved p@example.com",
    ])
    expect(kinds("admin.recovery_request_denied")).toEqual([
      "user.recovery_request_denied p@example.com",
      "recovery_request_denied.manager boss@example.com",
      "recovery_request_denied.security sec@example.com",
    ])
    expect(kinds("system.recovery_request_expired")).toEqual([
      "user.recovery_request_expired p@example.com",
    ])
  })
})
