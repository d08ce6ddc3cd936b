import type { SettingsFlow } from "@ory/client-fetch"
import { useState } from "react"
import { AppShell } from "../components/app-shell"
import { FlowView } from "../components/flow-status"
import { browserFlowUrl } from "../sdk"
import { ActivityTab } from "../security/activity-tab"
import { NotificationsTab } from "../security/notifications-tab"
import { SecurityBanners } from "../security/banners"
import { ReverifyDialog, type Retry } from "../security/reverify-dialog"
import { hasGroup } from "../security/flow-submit"
import { PasswordCard, PasswordRefusalNotice } from "../security/password-card"
import { ProfileCard } from "../security/profile-card"
import { ApiKeysCard } from "../security/api-keys-card"
import { SessionsCard } from "../security/sessions-card"
import { TwoFactorCard } from "../security/two-factor-card"
import type { SecurityOverview } from "../security/types"
import { api } from "../api"
import { refusalFor } from "../refusal"
import { useResource } from "../use-resource"
import { useFlow } from "../use-flow"

type Tab = "profile" | "security" | "notifications" | "activity"

const tabs: { tab: Tab; label: string; title: string; description: string }[] = [
  {
    tab: "profile",
    label: "Profile",
    title: "Profile",
    description: "Your name and the email address you sign in with.",
  },
  {
    tab: "security",
    label: "Security",
    title: "Security",
    description: "Manage your password, two-factor authentication and where you're signed in.",
  },
  {
    tab: "notifications",
    label: "Notifications",
    title: "Notifications",
    description: "Choose which security emails you get about your account.",
  },
  {
    tab: "activity",
    label: "Activity",
    title: "Activity",
    description: "Sign-ins and changes to your account's security, newest first.",
  },
]

function currentTab(): Tab {
  const tab = new URLSearchParams(window.location.search).get("tab")
  return tab === "profile" || tab === "notifications" || tab === "activity" ? tab : "security"
}

export function SettingsPage() {
  const tab = currentTab()
  const meta = tabs.find((t) => t.tab === tab)!
  return (
    // The Security page is where a confined user has to act, so it never redirects itself.
    <AppShell section="account" confine={tab !== "security"}>
      <div className="kg-page">
        <header className="kg-page__header">
          <h1 className="kg-page__title">{meta.title}</h1>
          <p className="kg-page__description">{meta.description}</p>
        </header>
        <div className="kg-page__body">
          <nav className="kg-sidenav" aria-label="Account">
            <ul>
              {tabs.map((item) => (
                <li key={item.tab}>
                  <a
                    className="kg-sidenav__item"
                    href={`/settings?tab=${item.tab}`}
                    aria-current={item.tab === tab ? "page" : undefined}
                  >
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <main className="kg-page__content">
            {tab === "activity" ? (
              <ActivityTab />
            ) : tab === "notifications" ? (
              <NotificationsTab />
            ) : (
              <FlowTab tab={tab} />
            )}
          </main>
        </div>
      </div>
    </AppShell>
  )
}

function FlowTab({ tab }: { tab: "profile" | "security" }) {
  const state = useFlow("settings")
  return (
    <FlowView state={state} retryHref={() => browserFlowUrl("settings")}>
      {(flow) => (tab === "profile" ? <ProfileTab flow={flow} /> : <SecurityTab flow={flow} />)}
    </FlowView>
  )
}

function ProfileTab({ flow }: { flow: SettingsFlow }) {
  const [retry, setRetry] = useState<Retry | null>(null)
  return (
    <div className="kg-stack">
      <ReverifyDialog retry={retry} onClose={() => setRetry(null)} section="kg-profile-title" />
      <ProfileCard flow={flow} onRefreshRequired={(r) => setRetry(() => r)} />
    </div>
  )
}

function SecurityTab({ flow }: { flow: SettingsFlow }) {
  const { resource: overview, reload } = useResource("overview", () =>
    api.get<SecurityOverview>("/api/me/security"),
  )
  const [retry, setRetry] = useState<Retry | null>(null)
  const [retrySection, setRetrySection] = useState("kg-password-title")
  // A function as state is stored with a wrapper (a bare one would be called as an updater).
  const needsSignIn = (section: string) => (r: Retry) => {
    setRetrySection(section)
    setRetry(() => r)
  }
  const data = overview.status === "ready" ? overview.data : null
  const reason = new URLSearchParams(window.location.search).get("reason")
  const showPassword = hasGroup(flow, "password") && !data?.sso_required
  const refusal = refusalFor("settings", flow.id)
  // sso_required speaks for the organisation's policy: it is shown where the page says SSO
  // applies, or in the password card if the policy can't be loaded; when the policy says
  // otherwise (changed since, or an address made up), the page doesn't contradict itself.
  const passwordRefusal =
    refusal?.kind === "password_failed" ||
    refusal?.kind === "password_reused" ||
    (refusal?.kind === "sso_required" && overview.status === "error")
      ? refusal
      : null

  return (
    <div className="kg-stack">
      <SecurityBanners overview={data} reason={reason} />
      <ReverifyDialog retry={retry} onClose={() => setRetry(null)} section={retrySection} />
      {overview.status === "error" && (
        <p className="kg-notice kg-notice--error">
          Couldn't load your security status: {overview.error.message}
        </p>
      )}
      {showPassword && (
        <PasswordCard
          flow={flow}
          overview={data}
          onRefreshRequired={needsSignIn("kg-password-title")}
          onChanged={reload}
          refusal={passwordRefusal}
        />
      )}
      {data?.sso_required && (
        <section className="kg-section" data-testid="kg-sso-note">
          <h2 className="kg-section__title">Password</h2>
          {refusal?.kind === "sso_required" && (
            <PasswordRefusalNotice refusal={refusal} explained />
          )}
          <p className="kg-section__description">
            Your organisation has locked password changes: you keep signing in with the password you
            have, and an administrator can help if you need a new one.
          </p>
        </section>
      )}
      <TwoFactorCard
        flow={flow}
        overview={data}
        settled={overview.status !== "loading"}
        onRefreshRequired={needsSignIn("kg-2fa-title")}
        onChanged={reload}
      />
      <SessionsCard />
      <ApiKeysCard onRefreshRequired={needsSignIn("kg-api-keys-title")} />
    </div>
  )
}
