import { LoginFlowFromJSON } from "@ory/client-fetch"
import { startTransition } from "react"
import { createRoot, hydrateRoot } from "react-dom/client"
import { pagePath } from "../../webhooks/routes/ui-pages"
import { Page } from "./page"
import { takeServedFlow } from "./page-start"

const root = document.getElementById("root")
if (!root) throw new Error("index.html is missing #root")

const path = pagePath(window.location.pathname)
const served = takeServedFlow()
if (served) {
  // The service rendered the page with this flow: React adopts its markup, as a transition so
  // that it works in slices and the main thread stays free for input in between.
  const flow = LoginFlowFromJSON(served)
  startTransition(() => {
    hydrateRoot(root, <Page path={path} served={{ kind: "login", flow }} />)
  })
} else {
  createRoot(root).render(<Page path={path} served={null} />)
}
