/** Edits of a rendered Kratos config for tests and benchmarks (see startStack's mutateKratosConfig). */
interface KratosHook {
  hook: string
  config?: { url?: string }
}

function settingsAfter(cfg: Record<string, unknown>): Record<string, { hooks: KratosHook[] }> {
  const flows = (
    cfg.selfservice as { flows: { settings: { after: Record<string, { hooks: KratosHook[] }> } } }
  ).flows
  return flows.settings.after
}

/** Sends every settings post-persist (confirming) web_hook to a closed port. */
export function breakSettingsConfirmations(cfg: Record<string, unknown>): void {
  for (const m of Object.values(settingsAfter(cfg))) {
    for (const h of m.hooks)
      if (h.config?.url?.endsWith("/post")) h.config.url = "http://127.0.0.1:9/post"
  }
}

/** Removes every kratos-guard web_hook from the settings methods (a Kratos without us). */
export function withoutSettingsWebhooks(cfg: Record<string, unknown>): void {
  const after = settingsAfter(cfg)
  for (const [method, m] of Object.entries(after)) {
    m.hooks = m.hooks.filter((h) => h.hook !== "web_hook")
    if (m.hooks.length === 0) delete after[method]
  }
}

/**
 * Points every settings web_hook at `baseUrl` instead of the service, keeping its method and
 * phase in the path (`<baseUrl>/password/pre`): Kratos's web_hook machinery with a receiver
 * of the caller's choosing.
 */
export function settingsWebhooksTo(baseUrl: string) {
  return (cfg: Record<string, unknown>): void => {
    for (const m of Object.values(settingsAfter(cfg))) {
      for (const h of m.hooks) {
        const tail = h.config?.url
          ? /\/hooks\/settings(\/[^/]+\/(?:pre|post))$/.exec(h.config.url)
          : null
        if (tail) h.config!.url = `${baseUrl}${tail[1]}`
      }
    }
  }
}
