import { useEffect, useState } from "react"
import { AuthLayout } from "../components/auth-layout"
import { Loading, MessageCard } from "../components/flow-status"
import { uiUrls } from "../ory.config"
import { logout } from "../sdk"

export function LogoutPage() {
  const [failed, setFailed] = useState(false)

  useEffect(() => {
    logout().catch(() => setFailed(true))
  }, [])

  return (
    <AuthLayout>
      {failed ? (
        <MessageCard
          title="We couldn't sign you out"
          message="Your session is still active. Try again in a moment."
          actions={
            <>
              <a className="kg-button kg-button--primary" href="/logout">
                Try again
              </a>
              <a className="kg-button" href={uiUrls.afterLogin}>
                Back to settings
              </a>
            </>
          }
        />
      ) : (
        <Loading label="Signing you out…" />
      )}
    </AuthLayout>
  )
}
