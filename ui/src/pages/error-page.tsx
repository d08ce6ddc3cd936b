import { useEffect, useState } from "react"
import { AuthLayout } from "../components/auth-layout"
import { Loading, MessageCard } from "../components/flow-status"
import { uiUrls } from "../ory.config"
import { frontend, toApiFailure } from "../sdk"

type ShownError = {
  title: string
  message: string
  /** Kratos' technical wording, for support; never the headline. */
  detail?: string
  reason?: string
  reference?: string
  time?: Date
}

// Kratos' own messages are written for developers; these are the ones users actually meet.
const friendly: Record<string, Pick<ShownError, "title" | "message">> = {
  security_csrf_violation: {
    title: "We couldn't verify your request",
    message:
      "This usually happens when cookies are blocked or the page was open for too long. Allow cookies for this site and start again.",
  },
  self_service_flow_expired: {
    title: "This page has expired",
    message: "For your security, sign-in pages expire. Start again.",
  },
  self_service_flow_return_to_forbidden: {
    title: "That link isn't allowed",
    message: "The link you followed tried to send you to an address this site doesn't trust.",
  },
  session_already_available: {
    title: "You're already signed in",
    message: "Go to your account to continue.",
  },
  session_inactive: {
    title: "You're signed out",
    message: "Sign in to continue.",
  },
}

export function ErrorPage() {
  const [shown, setShown] = useState<ShownError | null>(null)

  useEffect(() => {
    let active = true
    const id = new URLSearchParams(window.location.search).get("id")
    loadError(id).then((loaded) => {
      if (active) setShown(loaded)
    })
    return () => {
      active = false
    }
  }, [])

  return (
    <AuthLayout>
      {shown ? (
        <MessageCard
          title={shown.title}
          message={shown.message}
          actions={
            <>
              <a className="kg-button kg-button--primary" href={uiUrls.login}>
                Back to sign in
              </a>
              <a className="kg-button" href={uiUrls.afterLogin}>
                Go to your account
              </a>
            </>
          }
          footer={<ErrorDetails error={shown} />}
        />
      ) : (
        <Loading />
      )}
    </AuthLayout>
  )
}

function ErrorDetails({ error }: { error: ShownError }) {
  if (!error.detail && !error.reason && !error.reference) return null
  return (
    <details className="kg-details">
      <summary>Technical details</summary>
      <dl>
        {error.detail && (
          <>
            <dt>Message</dt>
            <dd>{error.detail}</dd>
          </>
        )}
        {error.reason && (
          <>
            <dt>Reason</dt>
            <dd>{error.reason}</dd>
          </>
        )}
        {error.reference && (
          <>
            <dt>Reference</dt>
            <dd>
              <code>{error.reference}</code>
            </dd>
          </>
        )}
        {error.time && (
          <>
            <dt>Time</dt>
            <dd>{error.time.toUTCString()}</dd>
          </>
        )}
      </dl>
    </details>
  )
}

type KratosErrorObject = {
  id?: string
  code?: number
  message?: string
  reason?: string
}

async function loadError(id: string | null): Promise<ShownError> {
  if (!id) {
    return {
      title: "Nothing to show",
      message: "This page was opened without an error reference.",
    }
  }
  try {
    const flowError = await frontend.getFlowError({ id })
    const body = (flowError.error ?? {}) as KratosErrorObject
    const known = body.id ? friendly[body.id] : undefined
    return {
      title: known?.title ?? "Something went wrong",
      message:
        known?.message ??
        ((body.code ?? 500) < 500
          ? "The request could not be completed. Start again from the sign-in page."
          : "The server ran into a problem. Try again in a few minutes."),
      detail: body.message,
      reason: body.reason,
      reference: flowError.id,
      time: flowError.created_at,
    }
  } catch (err) {
    const failure = await toApiFailure(err)
    // Kratos keeps error reports only for a while and answers 404 once they are gone.
    if (failure.kind === "response" && failure.status === 404) {
      return {
        title: "This error report has expired",
        message: "Error details are kept only for a while. Start again.",
        reference: id,
      }
    }
    return {
      title: "Something went wrong",
      message: "We couldn't load the details of this error. Try again later.",
      reference: id,
    }
  }
}
