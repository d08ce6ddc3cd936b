import path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"

const uiDir = path.dirname(fileURLToPath(import.meta.url))
const kratosPublicUrl = process.env.KRATOS_PUBLIC_URL ?? "http://127.0.0.1:4433"

// In production the Express service proxies these paths to Kratos public on the same origin;
// the dev server mirrors that so cookies and CSRF behave the same way in both.
const kratosPaths = ["/self-service", "/sessions", "/.well-known", "/schemas"]

export default defineConfig({
  root: uiDir,
  base: "/",
  // Vite 8 compiles TSX with Oxc; no React plugin is installed (no fast refresh needed).
  oxc: { jsx: { runtime: "automatic" } },
  // @ory/elements-react probes process.env for an SDK URL; we always pass config.sdk.url, this
  // only keeps the probe from throwing a ReferenceError in the browser.
  define: { "process.env": {} },
  build: {
    outDir: path.join(uiDir, "dist"),
    emptyOutDir: true,
    // @ory/elements-react ships every locale, twice (core and theme bundles): ~5 MB minified,
    // ~1 MB gzipped. Nothing to split lazily, so don't warn about it on every build.
    chunkSizeWarningLimit: 6000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // Radix and elements mark modules "use client" for React Server Components; meaningless
        // in a client-only bundle.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return
        warn(warning)
      },
    },
  },
  server: {
    port: Number(process.env.UI_DEV_PORT ?? 5173),
    strictPort: true,
    proxy: Object.fromEntries(
      kratosPaths.map((p) => [p, { target: kratosPublicUrl, changeOrigin: false, xfwd: true }]),
    ),
  },
})
