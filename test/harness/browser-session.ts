import request from "supertest"
import { STRONG_PASSWORD, uniqueEmail } from "./kratos"
import { stackInfo } from "./stack-info"

/** `name=value` of each Set-Cookie line (attributes dropped). */
export function cookiePairs(setCookie: string[]): string[] {
  return setCookie.map((c) => c.split(";")[0]!.trim())
}

/**
 * Registers through Kratos's browser flow on the service's origin, as the UI does (JSON
 * requests, CSRF cookie and token), and answers the cookies Kratos set: the CSRF cookie and
 * the session cookie, with their raw Set-Cookie lines for checking their attributes.
 */
export async function browserRegistration(publicUrl = stackInfo().publicUrl) {
  const email = uniqueEmail("browser")
  const start = await fetch(`${publicUrl}/self-service/registration/browser`, {
    headers: { accept: "application/json" },
    redirect: "manual",
  })
  if (start.status !== 200) throw new Error(`registration flow: ${start.status}`)
  const flow = (await start.json()) as {
    id: string
    ui: { nodes: { attributes: { name?: string; value?: unknown } }[] }
  }
  const csrfSetCookie = start.headers.getSetCookie()
  const csrfToken = flow.ui.nodes.find((n) => n.attributes.name === "csrf_token")?.attributes
    .value as string
  const submit = await fetch(`${publicUrl}/self-service/registration?flow=${flow.id}`, {
    method: "POST",
    headers: {
      accept: "application/json",
      "content-type": "application/json",
      cookie: cookiePairs(csrfSetCookie).join("; "),
      origin: new URL(publicUrl).origin,
    },
    body: JSON.stringify({
      method: "password",
      csrf_token: csrfToken,
      password: STRONG_PASSWORD,
      traits: { email },
    }),
    redirect: "manual",
  })
  if (submit.status !== 200) {
    throw new Error(`browser registration: ${submit.status} ${await submit.text()}`)
  }
  const data = (await submit.json()) as { identity: { id: string } }
  const sessionSetCookie = submit.headers
    .getSetCookie()
    .filter((c) => c.startsWith("ory_kratos_session="))
  if (sessionSetCookie.length === 0) throw new Error("browser registration set no session cookie")
  const sessionCookie = cookiePairs(sessionSetCookie)[0]!
  return {
    email,
    identityId: data.identity.id,
    csrfSetCookie,
    sessionSetCookie,
    /** `ory_kratos_session=…` */
    sessionCookie,
    /** Every cookie a browser would now send. */
    cookieHeader: [...cookiePairs(csrfSetCookie), sessionCookie].join("; "),
  }
}

/** A supertest agent: it keeps the cookies Kratos sets, as a browser does. */
export type BrowserAgent = ReturnType<typeof request.agent>

/**
 * Starts a Kratos browser flow on the agent (which then holds its CSRF cookie) and answers the
 * flow's id and CSRF token, for form posts the way a browser without JavaScript sends them.
 */
export async function startBrowserFlow(
  agent: BrowserAgent,
  kind: "login" | "registration" | "settings",
  headers: Record<string, string> = {},
): Promise<{ id: string; csrf: string }> {
  const res = await agent
    .get(`/self-service/${kind}/browser`)
    .set("Accept", "application/json")
    .set(headers)
  if (res.status !== 200) throw new Error(`${kind} browser flow: ${res.status}`)
  const flow = res.body as {
    id: string
    ui: { nodes: { attributes: { name?: string; value?: unknown } }[] }
  }
  const csrf = flow.ui.nodes.find((n) => n.attributes.name === "csrf_token")?.attributes.value
  if (typeof csrf !== "string") throw new Error(`${kind} browser flow without a CSRF token`)
  return { id: flow.id, csrf }
}
