import { isUiPage, pagePath, UI_PAGES } from "../../webhooks/routes/ui-pages"

describe("the UI's pages", () => {
  it("when a path is one of the UI's pages, with or without a trailing slash, then it is a page", () => {
    for (const p of UI_PAGES) expect([p, isUiPage(p)]).toEqual([p, true])
    for (const p of ["/login/", "/settings//", "/admin", "/admin/team", "/admin/audit/"]) {
      expect([p, isUiPage(p)]).toEqual([p, true])
    }
    expect(isUiPage("/admin/users/4f1c7d2e-9b7a-4d55-8f0e-0a6c2b7e1d93")).toBe(true)
    expect(pagePath("/")).toBe("/")
  })

  it("when a path is no page of the UI, then it is not one (the server answers it 404)", () => {
    for (const p of [
      "/no-such-page",
      "/login/extra",
      "/admin/identities",
      "/admin/users",
      "/admin/users/x/y",
      "/admin/teams",
      "/settingsx",
      "/favicon.ico",
      "/assets",
    ]) {
      expect([p, isUiPage(p)]).toEqual([p, false])
    }
  })
})
