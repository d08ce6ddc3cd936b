import type { OryFlowComponentOverrides } from "@ory/elements-react"
import { SessionProvider, useSession } from "@ory/elements-react/client"
import { Settings } from "@ory/elements-react/theme"
import type { Session } from "@ory/client-fetch"
import { AppShell } from "../components/app-shell"
import { FlowView } from "../components/flow-status"
import { origin, oryConfig } from "../ory.config"
import { browserFlowUrl } from "../sdk"
import { useFlow } from "../use-flow"

// Our own page header replaces the elements one (logo, avatar menu, "Back" link), which
// would duplicate the top bar.
const settingsComponents: OryFlowComponentOverrides = {
  Page: { Header: () => null },
}

type NavItem = { label: string; tab: string; enabled: boolean }

const navItems: NavItem[] = [
  { label: "Profile", tab: "profile", enabled: false },
  { label: "Security", tab: "security", enabled: true },
  { label: "Activity", tab: "activity", enabled: false },
]

export function SettingsPage() {
  return (
    <SessionProvider baseUrl={origin}>
      <SettingsScreen />
    </SessionProvider>
  )
}

function SettingsScreen() {
  const state = useFlow("settings")
  const { session } = useSession()
  return (
    <AppShell email={emailOf(session)}>
      <div className="kg-page">
        <header className="kg-page__header">
          <h1 className="kg-page__title">Security</h1>
          <p className="kg-page__description">
            Manage your password, two-factor authentication and sessions.
          </p>
        </header>
        <div className="kg-page__body">
          <nav className="kg-sidenav" aria-label="Account">
            <ul>
              {navItems.map((item) => (
                <li key={item.tab}>
                  {item.enabled ? (
                    <a
                      className="kg-sidenav__item"
                      href={`/settings?tab=${item.tab}`}
                      aria-current="page"
                    >
                      {item.label}
                    </a>
                  ) : (
                    // No href: not focusable and not announced as a working link.
                    <a className="kg-sidenav__item" aria-disabled="true" title="Coming soon">
                      {item.label}
                      <span className="kg-sidenav__soon">Soon</span>
                    </a>
                  )}
                </li>
              ))}
            </ul>
          </nav>
          <main className="kg-page__content">
            <FlowView state={state} retryHref={browserFlowUrl("settings")}>
              {(flow) => (
                <Settings
                  key={flow.id}
                  flow={flow}
                  config={oryConfig}
                  components={settingsComponents}
                  className="kg-settings"
                />
              )}
            </FlowView>
          </main>
        </div>
      </div>
    </AppShell>
  )
}

function emailOf(session: Session | null): string | null {
  const traits: unknown = session?.identity?.traits
  if (traits && typeof traits === "object" && "email" in traits) {
    return typeof traits.email === "string" ? traits.email : null
  }
  return null
}
