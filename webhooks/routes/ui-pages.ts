/**
 * The UI's pages, in one module the server and the UI both import: the server answers any
 * other path 404 (with the UI's own "Page not found" page as the body), ui/src/app.tsx routes
 * exactly these, and the admin console (ui/src/admin/admin-console.tsx `route`) the admin ones.
 */
export const UI_PAGES = [
  "/",
  "/login",
  "/registration",
  "/recovery",
  "/verification",
  "/error",
  "/settings",
  "/logout",
  "/lost-device",
] as const
export type UiPage = (typeof UI_PAGES)[number]

const ADMIN_PAGES = [
  /^\/admin$/,
  /^\/admin\/team$/,
  /^\/admin\/users\/[^/]+$/,
  /^\/admin\/compliance$/,
  /^\/admin\/audit$/,
  /^\/admin\/notifications$/,
  /^\/admin\/recovery$/,
]

/** The path a page is looked up by: trailing slashes do not make another page. */
export function pagePath(pathname: string): string {
  return pathname.replace(/(.)\/+$/, "$1")
}

export function isUiPage(pathname: string): boolean {
  const p = pagePath(pathname)
  return (UI_PAGES as readonly string[]).includes(p) || ADMIN_PAGES.some((re) => re.test(p))
}

/**
 * The element a page the service rendered carries its flow in (webhooks/routes/ui.ts writes it,
 * ui/src/page-start.ts reads it).
 */
export const SERVED_FLOW_ID = "kg-served-flow"
