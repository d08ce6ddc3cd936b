import { AuthLayout } from "../components/auth-layout"
import { MessageCard } from "../components/flow-status"
import { uiUrls } from "../ory.config"

export function NotFoundPage() {
  return (
    <AuthLayout>
      <MessageCard
        title="Page not found"
        message="The page you were looking for doesn't exist."
        actions={
          <a className="kg-button kg-button--primary" href={uiUrls.afterLogin}>
            Go to your account
          </a>
        }
      />
    </AuthLayout>
  )
}
