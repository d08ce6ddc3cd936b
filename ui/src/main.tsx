import { StrictMode } from "react"
import { createRoot } from "react-dom/client"
import "@ory/elements-react/theme/styles.css"
import "./styles.css"
import { App } from "./app"
import { takeRefusal } from "./refusal"
import { loadFlowEarly, restorePageParams } from "./use-flow"

restorePageParams()
takeRefusal()
loadFlowEarly()

const root = document.getElementById("root")
if (!root) throw new Error("index.html is missing #root")

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
