import path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig, type Plugin } from "vite"

const uiDir = path.dirname(fileURLToPath(import.meta.url))
const kratosPublicUrl = process.env.KRATOS_PUBLIC_URL ?? "http://127.0.0.1:4433"

// In production the Express service proxies these paths to Kratos public on the same origin;
// the dev server mirrors that so cookies and CSRF behave the same way in both.
const kratosPaths = ["/self-service", "/sessions", "/.well-known", "/schemas"]

/** The UI's languages: elements-react falls back to English, and the UI sets no other. */
const LOCALES_IN_USE = new Set(["en"])

/**
 * elements-react inlines all 84 of its locale tables into each of its bundles (core and theme):
 * about 4 MB of the 5.4 MB the login page loaded. The tables of languages the UI doesn't use
 * become empty objects at build time; OryLocales keeps its keys, so nothing else changes.
 */
function onlyLocalesInUse(): Plugin {
  const bundle = /@ory[\\/]elements-react[\\/]dist[\\/](index|theme[\\/]default[\\/]index)\.mjs$/
  const table = /\/\/ src\/locales\/([\w-]+)\.json\nvar (\w+) = \{[\s\S]*?\n\};\n/g
  return {
    name: "kratos-guard:only-locales-in-use",
    enforce: "pre",
    transform(code, id) {
      if (!bundle.test(id)) return null
      let dropped = 0
      const out = code.replace(table, (whole, locale: string, name: string) => {
        if (LOCALES_IN_USE.has(locale)) return whole
        dropped++
        return `var ${name} = {};\n`
      })
      // A newer elements-react that lays its locales out differently must not pass silently.
      if (dropped === 0) this.error(`no locale tables found to drop in ${id}`)
      return { code: out, map: null }
    },
  }
}

export default defineConfig({
  root: uiDir,
  base: "/",
  // Vite 8 compiles TSX with Oxc; no React plugin is installed (no fast refresh needed).
  oxc: { jsx: { runtime: "automatic" } },
  plugins: [onlyLocalesInUse()],
  // @ory/elements-react probes process.env for an SDK URL; we always pass config.sdk.url, this
  // only keeps the probe from throwing a ReferenceError in the browser.
  define: { "process.env": {} },
  // The server's render of the sign-in page (ui/src/server-render.tsx, `npm run build:ui`) is one
  // file with its dependencies inside: elements-react's ESM build imports paths without file
  // extensions, which only a bundler resolves.
  ssr: { noExternal: true },
  build: {
    outDir: path.join(uiDir, "dist"),
    emptyOutDir: true,
    // The service reads it to preload each page's own chunks (webhooks/routes/ui.ts).
    manifest: true,
    // Each page is a chunk of its own (ui/src/app.tsx); the flow pages share elements-react's.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        // The flow pages' shared code under a name that says what it is.
        advancedChunks: {
          groups: [
            {
              name: "react",
              test: /[\\/]node_modules[\\/](react|react-dom|scheduler)[\\/]/,
              priority: 2,
            },
            {
              name: "ory-client",
              test: /[\\/]node_modules[\\/]@ory[\\/]client-fetch[\\/]/,
              priority: 2,
            },
            {
              name: "ory-elements",
              test: /[\\/]node_modules[\\/]@ory[\\/]elements-react[\\/].*\.m?js$/,
              priority: 1,
            },
          ],
        },
      },
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
