import { lazy, Suspense, useEffect, type ReactNode } from "react"
import { Loading } from "./components/flow-status"
import { uiUrls } from "./ory.config"
import { navigate } from "./sdk"

// Each page is loaded on its own: the sign-in page doesn't carry the Security page or the
// admin console, and a signed-in page doesn't carry the flows it doesn't show.
const page = <K extends string>(load: () => Promise<Record<K, () => ReactNode>>, name: K) =>
  lazy(async () => ({ default: (await load())[name] }))

const LoginPage = page(() => import("./pages/login-page"), "LoginPage")
const RegistrationPage = page(() => import("./pages/registration-page"), "RegistrationPage")
const RecoveryPage = page(() => import("./pages/recovery-page"), "RecoveryPage")
const VerificationPage = page(() => import("./pages/verification-page"), "VerificationPage")
const ErrorPage = page(() => import("./pages/error-page"), "ErrorPage")
const SettingsPage = page(() => import("./pages/settings-page"), "SettingsPage")
const LogoutPage = page(() => import("./pages/logout-page"), "LogoutPage")
const NotFoundPage = page(() => import("./pages/not-found-page"), "NotFoundPage")
const LostDevicePage = page(() => import("./pages/lost-device-page"), "LostDevicePage")
const AdminConsole = page(() => import("./admin/admin-console"), "AdminConsole")
import { pagePath, type UiPage } from "../../webhooks/routes/ui-pages"

// Every page change is a full navigation (Kratos redirects, native form posts), so routing is
// just a lookup on the path the document was loaded with. The server answers 404 for any path
// not in UI_PAGES, so the two lists are one.
const routes: Record<UiPage, () => ReactNode> = {
  "/login": () => <LoginPage />,
  "/registration": () => <RegistrationPage />,
  "/recovery": () => <RecoveryPage />,
  "/verification": () => <VerificationPage />,
  "/error": () => <ErrorPage />,
  "/settings": () => <SettingsPage />,
  "/logout": () => <LogoutPage />,
  "/lost-device": () => <LostDevicePage />,
  "/": () => <Redirect to={uiUrls.afterLogin} />,
}

/** `path`: the page's path; the server, which has no window, names the one it renders. */
export function App({ path = pagePath(window.location.pathname) }: { path?: string }) {
  // The admin console routes its own sub-pages (/admin/team, /admin/users/<id>, …).
  const route =
    path === "/admin" || path.startsWith("/admin/")
      ? () => <AdminConsole />
      : (routes[path as UiPage] as (() => ReactNode) | undefined)
  return (
    <Suspense fallback={<Loading label="Loading…" />}>
      {route ? route() : <NotFoundPage />}
    </Suspense>
  )
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to), [to])
  return null
}
