import { existsSync } from "node:fs"
import path from "node:path"
import { pathToFileURL } from "node:url"
import type { Request } from "express"
import type { Deps } from "../app"
import type { FlowFetch } from "../kratos/public"
import { sessionCredential } from "../proxy/canonical"
import { publicRequest } from "../proxy/forward"
import { pagePath } from "./ui-pages"

/**
 * The sign-in page rendered on the server (ui/src/server-render.tsx): the service asks Kratos
 * for the page's flow as the browser would (its cookies, its address) and sends the page with
 * the form already in it. Only for the plain first step: a request with anything else (a
 * re-authentication, a second factor, a refusal to show, an address other than the public
 * URL's, credentials in more than one place) gets the page the browser renders, as before.
 */

/** The server build of the UI: the one function the service calls. */
interface ServerRender {
  renderLogin(flowJson: unknown): Promise<string>
}

export interface RenderedLogin {
  /** The markup of #root. */
  markup: string
  /** The flow as Kratos answered it, for the browser's React to hydrate the markup with. */
  flow: unknown
  /** Kratos's cookies for the flow (CSRF), to set with the page. */
  setCookie: string[]
}

/** The parameters a plain sign-in page may have; anything else is the browser's to handle. */
const PLAIN_PARAMS = new Set(["flow", "return_to"])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export type LoginRenderer = (req: Request) => Promise<RenderedLogin | null>

/**
 * `dist`: the built UI. Without its server build (an older build, or `npm run dev:ui`), every
 * page is rendered in the browser.
 */
export function createLoginRenderer(deps: Deps, dist: string): LoginRenderer {
  const { config, kratosPublic, log } = deps
  const entry = path.join(dist, ".server", "server-render.mjs")
  const publicHost = new URL(config.PUBLIC_URL).host
  let module: Promise<ServerRender | null> | undefined
  const load = (): Promise<ServerRender | null> => {
    // A build still being written (or none yet) is looked for again on the next request.
    if (!module && !existsSync(entry)) return Promise.resolve(null)
    return (module ??= (async () => {
      // ui/src/ory.config.ts reads the origin here when there is no window.
      ;(globalThis as { kratosGuardOrigin?: string }).kratosGuardOrigin = new URL(
        config.PUBLIC_URL,
      ).origin
      try {
        return (await import(pathToFileURL(entry).href)) as ServerRender
      } catch (err) {
        log.warn({ err: { message: (err as Error).message } }, "UI server build not loaded")
        return null
      }
    })())
  }
  // Loaded in the background, so the first visitor doesn't wait for it.
  void load()

  return async (req) => {
    if (req.method !== "GET" || pagePath(req.path) !== "/login") return null
    if (req.get("host") !== publicHost) return null
    const query = new URLSearchParams(req.originalUrl.split("?")[1] ?? "")
    const names = [...query.keys()]
    if (names.some((n) => !PLAIN_PARAMS.has(n)) || new Set(names).size !== names.length) {
      return null
    }
    const credential = sessionCredential(req, { bearer: false })
    if (!credential.ok) return null
    const renderer = await load()
    if (!renderer) {
      ;(req.log ?? log).debug("sign-in page left to the browser: no UI server build")
      return null
    }
    const caller = { token: credential.token, cookies: credential.cookies }

    const id = query.get("flow")
    let answer: FlowFetch
    if (id !== null) {
      if (!UUID.test(id)) return null
      answer = await kratosPublic.getFlow("login", id, caller)
    } else {
      const returnTo = query.get("return_to")
      const out = publicRequest(req, {
        method: "GET",
        path: "/self-service/login/browser",
        query: returnTo ? new URLSearchParams({ return_to: returnTo }).toString() : "",
        token: caller.token,
        cookies: caller.cookies,
      })
      answer = await kratosPublic.createBrowserFlow(out)
    }
    // Already signed in, an expired flow, a refused return_to: the browser's page deals with it.
    if (!answer.ok) {
      ;(req.log ?? log).debug(
        { kratosStatus: answer.status },
        "sign-in page left to the browser: Kratos answered without a flow",
      )
      return null
    }
    const flow = answer.flow as typeof answer.flow & { refresh?: boolean; requested_aal?: string }
    if (flow.type !== "browser" || flow.refresh === true || flow.requested_aal === "aal2") {
      return null
    }
    try {
      const markup = await renderer.renderLogin(flow)
      return { markup, flow, setCookie: answer.setCookie }
    } catch (err) {
      ;(req.log ?? log).warn(
        { err: { message: (err as Error).message } },
        "sign-in page not rendered on the server",
      )
      return null
    }
  }
}

/**
 * JSON inside a `<script type="application/json">`: nothing in it can end the element or
 * start markup (`<`, `>`, `&`), and the two line separators JavaScript once read as line ends
 * are escaped too.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  )
}
