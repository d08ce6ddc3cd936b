import { existsSync } from "node:fs"
import path from "node:path"
import express, { type Express } from "express"
import type { Deps } from "../app"
import { isUiPage } from "./ui-pages"

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
export function registerUiRoutes(app: Express, { config }: Deps): void {
  if (config.DEV_MAIL_URL && config.NODE_ENV !== "production") {
    // The local mail sink's inbox (npm start), so verification codes are one click away. A
    // development dependency, loaded only here: the production image doesn't install it.
    const target = config.DEV_MAIL_URL
    const proxy = import("http-proxy-middleware").then((m) => m.createProxyMiddleware({ target }))
    app.use("/dev/mail", (req, res, next) => {
      proxy.then((handle) => handle(req, res, next), next)
    })
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
  app.get(/^(?!\/(api|hooks|health|internal)(\/|$)).*/, (req, res) => {
    res.set("cache-control", "no-store")
    // Any other path still gets the UI, which shows its "Page not found" page, under a 404.
    if (!isUiPage(req.path)) res.status(404)
    if (built) res.sendFile(index)
    else res.type("html").send(PLACEHOLDER)
  })
}
