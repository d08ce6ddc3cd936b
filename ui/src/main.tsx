import "@ory/elements-react/theme/styles.css"
import "./styles.css"
import { startPage } from "./page-start"

// The first script is small: it starts the page's flow request, then loads the app, whose
// chunks the service has already named for preloading (webhooks/routes/ui.ts). On the sign-in
// page the service rendered, the app and the page's module load together once it has painted.
void startPage().then(({ served }) => {
  if (served) void import("./pages/login-page")
  return import("./boot")
})
