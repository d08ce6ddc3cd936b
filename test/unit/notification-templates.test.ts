import { recipientsFor } from "../../webhooks/domain/notifications/recipients"
import {
  notificationKinds,
  renderNotification,
  type TemplateContext,
} from "../../webhooks/domain/notifications/templates"

const hostile = '<script>alert("x")</script>&'

const ctx: TemplateContext = {
  subject: { id: "7d0b0a4e-3c1b-4c7e-9d0b-4b1a1f0e0a01", email: `eve${hostile}@example.com` },
  actor: { id: "a1", email: `admin${hostile}@example.com` },
  occurredAt: new Date("2026-06-05T14:03:07.123Z"),
  ip: `203.0.113.7${hostile}`,
  userAgent: `Mozilla/5.0 ${hostile}`,
  details: {
    method: "totp",
    recovery_codes_left: 7,
    set_at: "2026-06-01T00:00:00Z",
    password_changed_at: "2026-06-05T14:00:00Z",
    code: "482913",
    token: "ory_st_SeCrEtToKeN",
    recovery_link: "http://localhost/self-service/recovery?token=SeCrEtToKeN",
  },
  publicUrl: "https://id.example.com",
}

describe("notification templates", () => {
  it.each(notificationKinds)(
    "when %s is rendered with hostile values, then the HTML escapes every one of them",
    (kind) => {
      const mail = renderNotification(kind, ctx)
      expect(mail.html).not.toContain("<script>")
      expect(mail.html).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/)
      expect(mail.html).toContain("&lt;script&gt;")
      expect(mail.subject).not.toMatch(/[\r\n]/)
    },
  )

  it.each(notificationKinds)(
    "when %s is rendered, then it carries no code, token or tokenised link, and says when and what to do",
    (kind) => {
      const mail = renderNotification(kind, ctx)
      for (const body of [mail.subject, mail.text, mail.html]) {
        expect(body).not.toContain("482913")
        expect(body).not.toContain("SeCrEtToKeN")
        expect(body).not.toMatch(/token=/i)
      }
      expect(mail.text).toContain("2026-06-05 14:03:07 UTC")
      expect(mail.text).toContain("203.0.113.7")
      expect(mail.text).toMatch(/If (this wasn't you|you did not expect this)/)
    },
  )

  it("when a login is from a known browser, then the mail names the device", () => {
    const mail = renderNotification("user.new_device_login", {
      ...ctx,
      userAgent:
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    })
    expect(mail.text).toContain("Chrome 126 on macOS")
    expect(mail.text).toContain("https://id.example.com/settings?tab=security")
  })

  it("when a recovery code is used, then the mail says how many are left but not any code", () => {
    const mail = renderNotification("user.recovery_code_used", ctx)
    expect(mail.text).toContain("You have 7 recovery codes left.")
  })
})

describe("notification recipients", () => {
  const subject = { id: "u1", email: "user@example.com", managerEmail: "boss@example.com" }
  const securityTeam = ["sec@example.com", "ciso@example.com"]

  it.each([
    ["auth.password_changed", "user.password_changed"],
    ["auth.2fa_disabled", "user.2fa_disabled"],
    ["auth.2fa_recovery_codes_regenerated", "user.recovery_codes_regenerated"],
    ["auth.recovery_code_used", "user.recovery_code_used"],
  ] as const)("when %s is audited, then only the user is told (%s)", (event, kind) => {
    expect(recipientsFor({ event, subject, securityTeam })).toEqual([
      { kind, to: "user@example.com" },
    ])
  })

  it("when a login is from a known device, then nobody is told; from a new one, the user", () => {
    expect(recipientsFor({ event: "auth.login", subject, securityTeam })).toEqual([])
    expect(recipientsFor({ event: "auth.login", subject, newDevice: true })).toEqual([
      { kind: "user.new_device_login", to: "user@example.com" },
    ])
  })

  it.each([
    ["auth.force_password_change_cleared", "force_change_completed"],
    ["admin.2fa_reset", "admin_2fa_reset"],
    ["admin.user_deactivated", "user_deactivated"],
  ] as const)("when %s is audited, then the manager and the security team are told", (event, k) => {
    expect(recipientsFor({ event, subject, securityTeam })).toEqual([
      { kind: `${k}.manager`, to: "boss@example.com" },
      { kind: `${k}.security`, to: "sec@example.com" },
      { kind: `${k}.security`, to: "ciso@example.com" },
    ])
  })

  it("when the manager is also on the security team or there is no manager, then each address gets one mail", () => {
    expect(
      recipientsFor({
        event: "admin.2fa_reset",
        subject: { ...subject, managerEmail: "SEC@example.com" },
        securityTeam,
      }).map((r) => r.to),
    ).toEqual(["SEC@example.com", "ciso@example.com"])
    expect(
      recipientsFor({
        event: "admin.user_deactivated",
        subject: { ...subject, managerEmail: null },
        securityTeam: [],
      }),
    ).toEqual([])
  })

  it("when the user has no email or the event is not a notifying one, then nobody is told", () => {
    expect(
      recipientsFor({ event: "auth.password_changed", subject: { id: "u1", email: null } }),
    ).toEqual([])
    expect(recipientsFor({ event: "auth.profile_updated", subject, securityTeam })).toEqual([])
  })
})
