import { existsSync, readFileSync, statSync } from "node:fs"
import path from "node:path"
import express, { type Express } from "express"
import type { Deps } from "../app"
import { createLoginRenderer, scriptJson, type RenderedLogin } from "./login-render"
import { isUiPage, pagePath, SERVED_FLOW_ID } from "./ui-pages"

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>kratos-guard</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem">
<h1>kratos-guard</h1><p>The UI has not been built. Run <code>npm run build:ui</code>.</p>
<p><a href="/self-service/login/browser">Sign in</a> · <a href="/self-service/registration/browser">Create account</a></p>
</body></html>`

/**
 * Serves the built single-page UI at the public origin. GET paths that are not API, hook or
 * Kratos paths get index.html, so client-side routes such as /settings load directly; a path
 * that is no page of the UI gets it with status 404 (the UI then shows its not-found page).
 */
export function registerUiRoutes(app: Express, deps: Deps): void {
  const { config } = deps
  if (config.NODE_ENV !== "production") {
    // npm start's dev tools: the local mail sink's inbox, so verification codes are one click
    // away, and the local event receiver's page (scripts/event-sink.ts), which shows each
    // security event delivered and its signature check.
    if (config.DEV_MAIL_URL) devProxy(app, "/dev/mail", config.DEV_MAIL_URL)
    if (config.DEV_EVENTS_URL) devProxy(app, "/dev/events", config.DEV_EVENTS_URL)
  }
  const dist = path.resolve(config.UI_DIST_DIR)
  const index = path.join(dist, "index.html")
  const built = existsSync(index)
  if (built) {
    app.use(
      "/assets",
      express.static(path.join(dist, "assets"), {
        immutable: true,
        maxAge: "1y",
        fallthrough: false,
      }),
    )
    app.use(express.static(dist, { index: false, maxAge: 0 }))
  }
  const renderLogin = built ? createLoginRenderer(deps, dist) : null
  app.get(/^(?!\/(api|hooks|health|internal)(\/|$)).*/, async (req, res) => {
    res.set("cache-control", "no-store")
    // Any other path still gets the UI, which shows its "Page not found" page, under a 404.
    if (!isUiPage(req.path)) res.status(404)
    if (!built) {
      res.type("html").send(PLACEHOLDER)
      return
    }
    const rendered = renderLogin ? await renderLogin(req) : null
    if (rendered) res.append("set-cookie", rendered.setCookie)
    res.type("html").send(pageHtml(dist, req.path, rendered))
  })
}

/**
 * Proxies a dev tool's pages. A development dependency, loaded only here: the production image
 * doesn't install it.
 */
function devProxy(app: Express, mount: string, target: string): void {
  const proxy = import("http-proxy-middleware").then((m) => m.createProxyMiddleware({ target }))
  app.use(mount, (req, res, next) => {
    proxy.then((handle) => handle(req, res, next), next)
  })
}

/** The module each page of the UI loads (ui/src/app.tsx), as Vite's manifest names it. */
function pageModule(pathname: string): string | null {
  const p = pagePath(pathname)
  if (p === "/admin" || p.startsWith("/admin/")) return "src/admin/admin-console.tsx"
  if (p === "/") return null
  if (!isUiPage(p)) return "src/pages/not-found-page.tsx"
  return `src/pages${p}-page.tsx`
}

/** The app's module, loaded by the entry (ui/src/main.tsx) with import(). */
const APP_MODULE = "src/boot.tsx"

type Manifest = Record<string, { file: string; imports?: string[] }>

let cache: { mtimeMs: number; html: string; manifest: Manifest | null } | undefined

/**
 * index.html, with the app's and the page's own scripts preloaded: the browser fetches them
 * (React, the sign-in form's, elements-react for it) beside the entry's instead of after it
 * has run. Read
 * again when the build changes; without Vite's manifest, index.html as it is.
 */
function pageHtml(dist: string, pathname: string, rendered: RenderedLogin | null = null): string {
  const index = path.join(dist, "index.html")
  const mtimeMs = statSync(index).mtimeMs
  if (cache?.mtimeMs !== mtimeMs) {
    const manifestFile = path.join(dist, ".vite", "manifest.json")
    cache = {
      mtimeMs,
      html: readFileSync(index, "utf8"),
      manifest: existsSync(manifestFile)
        ? (JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest)
        : null,
    }
  }
  const { html, manifest } = cache
  if (rendered) return servedHtml(html, rendered)
  if (!manifest) return html
  const page = pageModule(pathname)
  const files = new Set<string>()
  const visit = (key: string) => {
    const chunk = manifest[key]
    if (!chunk || files.has(chunk.file)) return
    files.add(chunk.file)
    chunk.imports?.forEach(visit)
  }
  // The app itself, which the first script loads once it has started the flow's request.
  visit(APP_MODULE)
  if (page) visit(page)
  const links = [...files]
    .filter((f) => !html.includes(`/${f}"`))
    .map((f) => `<link rel="modulepreload" crossorigin href="/${f}">`)
    .join("")
  return html.replace("</head>", `${links}</head>`)
}

const ROOT = /<div id="root">[\s\S]*?<\/div>\s*<!-- end of #root -->/

/**
 * The page the service rendered: its markup in #root and its flow beside it for the browser's
 * React (ui/src/page-start.ts reads it). No script is preloaded: the app loads once the form
 * has painted (ui/src/main.tsx), so the form's first paint has the line to itself.
 */
function servedHtml(html: string, rendered: RenderedLogin): string {
  if (!ROOT.test(html)) return html
  return html
    .replace(ROOT, () => `<div id="root">${rendered.markup}</div>`)
    .replace(
      "</body>",
      () =>
        `<script type="application/json" id="${SERVED_FLOW_ID}">${scriptJson(rendered.flow)}</script></body>`,
    )
}
