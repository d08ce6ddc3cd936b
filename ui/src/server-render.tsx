import { LoginFlowFromJSON } from "@ory/client-fetch"
import { prerenderToNodeStream } from "react-dom/static"
import { Page } from "./page"

/**
 * The sign-in page rendered on the server, with the flow the service fetched from Kratos for
 * this request (webhooks/routes/login-render.ts): the form is in the HTML, on screen as soon as
 * the document and the stylesheet are, and the browser's React hydrates it (ui/src/boot.tsx)
 * instead of drawing it once all of its script has arrived. `npm run build:ui` builds it into
 * ui/dist/.server/, which the service loads and never serves.
 */
export async function renderLogin(flowJson: unknown): Promise<string> {
  const flow = LoginFlowFromJSON(flowJson)
  const { prelude } = await prerenderToNodeStream(
    <Page path="/login" served={{ kind: "login", flow }} />,
  )
  const chunks: Buffer[] = []
  for await (const chunk of prelude) chunks.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks).toString("utf8")
}
