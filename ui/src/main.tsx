import "@ory/elements-react/theme/styles.css"
import "./styles.css"
import { startPage } from "./page-start"

// The first script is small: it starts the page's flow request, then loads the app, whose
// chunks the service has already named for preloading (webhooks/routes/ui.ts).
startPage()
void import("./boot")
