import { createContext, useContext, useEffect, useRef, type ReactNode } from "react"
import { api, ApiError } from "../api"
import { AppShell } from "../components/app-shell"
import { Loading } from "../components/flow-status"
import { frontend, toApiFailure } from "../sdk"
import { AuditPage } from "./audit-page"
import { CompliancePage } from "./compliance-page"
import { ErrorState, Link } from "./components"
import { EventsPage } from "./events-page"
import { asApiError, useAdminLocation, useResource, type AdminLocation } from "./lib"
import { NotificationsPage } from "./notifications-page"
import { RecoveryRequestsPage } from "./recovery-page"
import { TeamPage } from "./team-page"
import type { OrgPolicy, Role, Viewer } from "./types"
import { UserPage } from "./user-page"
import "./admin.css"

type ConsoleContext = {
  viewer: Viewer
  policy: OrgPolicy
  setPolicy: (policy: OrgPolicy) => void
}

const Context = createContext<ConsoleContext | null>(null)

/** The signed-in admin and the org policy, loaded once for every console page. */
export function useConsole(): ConsoleContext {
  const value = useContext(Context)
  if (!value) throw new Error("useConsole() outside the admin console")
  return value
}

type Section = "team" | "compliance" | "audit" | "notifications" | "recovery" | "events"

const sections: { id: Section; label: string; href: string }[] = [
  { id: "team", label: "Team", href: "/admin/team" },
  { id: "compliance", label: "Compliance", href: "/admin/compliance" },
  { id: "audit", label: "Audit log", href: "/admin/audit" },
  { id: "notifications", label: "Notifications", href: "/admin/notifications" },
  { id: "recovery", label: "Lost devices", href: "/admin/recovery" },
  { id: "events", label: "Security events", href: "/admin/events" },
]

type Route =
  | { section: "team"; page: "list" }
  | { section: "team"; page: "user"; userId: string }
  | { section: Exclude<Section, "team"> }
  | { section: null }

function route(location: AdminLocation): Route {
  const path = location.path
  if (path === "/admin" || path === "/admin/team") return { section: "team", page: "list" }
  const user = path.match(/^\/admin\/users\/([^/]+)$/)
  if (user) return { section: "team", page: "user", userId: decodeURIComponent(user[1]!) }
  if (path === "/admin/compliance") return { section: "compliance" }
  if (path === "/admin/audit") return { section: "audit" }
  if (path === "/admin/notifications") return { section: "notifications" }
  if (path === "/admin/recovery") return { section: "recovery" }
  if (path === "/admin/events") return { section: "events" }
  return { section: null }
}

async function loadViewer(): Promise<Viewer> {
  try {
    const session = await frontend.toSession()
    const identity = session.identity
    const traits = (identity?.traits ?? {}) as { email?: unknown }
    const meta = (identity?.metadata_public ?? {}) as { role?: unknown }
    const role: Role = meta.role === "admin" || meta.role === "super_admin" ? meta.role : "member"
    return {
      id: identity?.id ?? "",
      email: typeof traits.email === "string" ? traits.email : null,
      role,
    }
  } catch (err) {
    const failure = await toApiFailure(err)
    if (failure.kind === "response" && failure.status === 401) {
      throw new ApiError(401, {
        code: "UNAUTHORIZED",
        message: "sign in first",
        reason: "session_required",
      })
    }
    throw asApiError(err)
  }
}

/** `/admin/*`: the admin console (admins at AAL2 only; the API enforces it, we explain it). */
export function AdminConsole() {
  const location = useAdminLocation()
  const viewer = useResource("viewer", loadViewer)
  // The policy doubles as the access check: it answers 401/403 exactly as every admin route.
  const policy = useResource("policy", () => api.get<OrgPolicy>("/api/admin/policy"))
  const current = route(location)
  const email = viewer.resource.status === "ready" ? viewer.resource.data.email : null

  return (
    <AppShell email={email} section="admin">
      <div className="kg-page kg-admin">
        <header className="kg-page__header kg-admin__header">
          <h1 className="kg-page__title">Admin console</h1>
          <p className="kg-page__description">
            People, security policy, the audit trail and notifications for your organisation.
          </p>
        </header>
        <ConsoleBody
          viewer={viewer.resource}
          policy={policy.resource}
          onRetry={() => {
            viewer.reload()
            policy.reload()
          }}
          setPolicy={(p) => policy.setData(() => p)}
          current={current}
          location={location}
        />
      </div>
    </AppShell>
  )
}

function ConsoleBody({
  viewer,
  policy,
  onRetry,
  setPolicy,
  current,
  location,
}: {
  viewer: ReturnType<typeof useResource<Viewer>>["resource"]
  policy: ReturnType<typeof useResource<OrgPolicy>>["resource"]
  onRetry: () => void
  setPolicy: (p: OrgPolicy) => void
  current: Route
  location: AdminLocation
}) {
  // An access refusal from either load decides the whole page: no tabs behind a locked door.
  for (const r of [policy, viewer]) {
    if (r.status === "error") return <ErrorState error={r.error} onRetry={onRetry} />
  }
  if (viewer.status !== "ready" || policy.status !== "ready") return <Loading />
  return (
    <Context.Provider value={{ viewer: viewer.data, policy: policy.data, setPolicy }}>
      <nav className="kg-admin-tabs" aria-label="Admin sections">
        <ul>
          {sections.map((s) => (
            <li key={s.id}>
              <Link
                href={s.href}
                className="kg-admin-tabs__item"
                aria-current={current.section === s.id ? "page" : undefined}
              >
                {s.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <FocusOnNavigate path={location.path}>
        <Page current={current} location={location} />
      </FocusOnNavigate>
    </Context.Provider>
  )
}

function Page({ current, location }: { current: Route; location: AdminLocation }) {
  switch (current.section) {
    case "team":
      return current.page === "list" ? (
        <TeamPage location={location} />
      ) : (
        <UserPage userId={current.userId} />
      )
    case "compliance":
      return <CompliancePage />
    case "audit":
      return <AuditPage location={location} />
    case "notifications":
      return <NotificationsPage location={location} />
    case "recovery":
      return <RecoveryRequestsPage location={location} />
    case "events":
      return <EventsPage />
    case null:
      return (
        <section className="kg-admin-panel">
          <h2 className="kg-admin-panel__title">Page not found</h2>
          <p className="kg-admin-muted">
            There is no admin page here. <Link href="/admin/team">Go to the team list</Link>.
          </p>
        </section>
      )
  }
}

/**
 * After a client-side navigation, moves focus to the new page's main region so keyboard and
 * screen-reader users start at its heading rather than on the link they left.
 */
function FocusOnNavigate({ path, children }: { path: string; children: ReactNode }) {
  const ref = useRef<HTMLElement>(null)
  const first = useRef(true)
  useEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    ref.current?.focus({ preventScroll: true })
  }, [path])
  return (
    <main ref={ref} className="kg-admin-main" tabIndex={-1}>
      {children}
    </main>
  )
}
