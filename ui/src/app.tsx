import { useEffect, type ReactNode } from "react"
import { AdminConsole } from "./admin/admin-console"
import { uiUrls } from "./ory.config"
import { navigate } from "./sdk"
import { ErrorPage } from "./pages/error-page"
import { LoginPage } from "./pages/login-page"
import { LogoutPage } from "./pages/logout-page"
import { NotFoundPage } from "./pages/not-found-page"
import { RecoveryPage } from "./pages/recovery-page"
import { RegistrationPage } from "./pages/registration-page"
import { SettingsPage } from "./pages/settings-page"
import { VerificationPage } from "./pages/verification-page"
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
  "/": () => <Redirect to={uiUrls.afterLogin} />,
}

export function App() {
  const path = pagePath(window.location.pathname)
  // The admin console routes its own sub-pages (/admin/team, /admin/users/<id>, …).
  if (path === "/admin" || path.startsWith("/admin/")) return <AdminConsole />
  const route = routes[path as UiPage] as (() => ReactNode) | undefined
  return route ? route() : <NotFoundPage />
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to), [to])
  return null
}
