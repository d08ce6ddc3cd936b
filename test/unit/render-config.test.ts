import { parse } from "yaml"
import { renderKratosConfig } from "../../kratos/render-config"

const env = {
  PUBLIC_URL: "https://id.example.com/",
  HOOKS_URL: "http://service:4455",
  KRATOS_ADMIN_URL: "http://kratos:4434",
  KRATOS_WEBHOOK_API_KEY: "hook-key-hook-key-hook-key-hook-key",
  KRATOS_SECRET_COOKIE: "c".repeat(32),
  KRATOS_SECRET_CIPHER: "x".repeat(32),
  SMTP_URL: "smtp://mail:1025/?disable_starttls=true",
}

type Hook = {
  hook: string
  config?: {
    url: string
    auth: { config: { value: string } }
    response: { parse?: boolean; ignore?: boolean }
  }
}

describe("rendering kratos.yml from the environment", () => {
  it("when every variable is set, then placeholders are filled with typed values", () => {
    const cfg = parse(
      renderKratosConfig({ ...env, KRATOS_BCRYPT_COST: "10", KRATOS_HIBP_ENABLED: "true" }),
    )
    expect(cfg.serve.public.base_url).toBe("https://id.example.com/")
    expect(cfg.hashers.bcrypt.cost).toBe(10)
    expect(cfg.selfservice.methods.password.config.haveibeenpwned_enabled).toBe(true)
    expect(cfg.selfservice.methods.password.config.min_password_length).toBe(12)
    expect(cfg.selfservice.methods.webauthn.config.rp.id).toBe("id.example.com")
    expect(cfg.selfservice.flows.settings.privileged_session_max_age).toBe("15m")
    expect(cfg.selfservice.flows.settings.required_aal).toBe("highest_available")
  })

  it("when rendered, then each settings method has a refusing pre-persist hook Kratos waits for and a confirming post-persist hook it does not, on their own URLs", () => {
    const cfg = parse(renderKratosConfig(env))
    const after = cfg.selfservice.flows.settings.after as Record<string, { hooks: Hook[] }>
    for (const method of ["password", "totp", "lookup_secret", "webauthn", "passkey", "profile"]) {
      const hooks = after[method]!.hooks.filter((h) => h.hook === "web_hook")
      expect(hooks.map((h) => [h.config!.url, h.config!.response])).toEqual([
        [`http://service:4455/hooks/settings/${method}/pre`, { parse: true }],
        [`http://service:4455/hooks/settings/${method}/post`, { ignore: true }],
      ])
      for (const h of hooks) {
        // The key goes in Authorization, the one header Kratos's request log redacts.
        expect(h.config!.auth.config).toEqual({
          name: "Authorization",
          value: `Bearer ${env.KRATOS_WEBHOOK_API_KEY}`,
          in: "header",
        })
      }
    }
    expect(after.password!.hooks.map((h) => h.hook)).toContain("revoke_active_sessions")
  })

  it("when variables are missing, then the error names every one of them", () => {
    expect(() => renderKratosConfig({ PUBLIC_URL: "http://localhost:4455" })).toThrow(
      /missing environment variables: HOOKS_URL, KRATOS_ADMIN_URL, KRATOS_SECRET_CIPHER, KRATOS_SECRET_COOKIE, KRATOS_WEBHOOK_API_KEY, SMTP_URL/,
    )
  })
})
