import { spawnSync } from "node:child_process"
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
  copyFileSync,
} from "node:fs"
import os from "node:os"
import path from "node:path"
import { parse } from "yaml"
import { configSchema } from "../../webhooks/config"
import { composeEnvFile } from "../compose/env-file"

/**
 * The docker compose stack, as Docker Compose itself reads it: `config --format json` of the
 * real compose binary (no engine needed). `.ci/run` builds that binary before the tests
 * (test/compose/go-tool.sh); without one these checks are skipped, and the compose test
 * (`npm run test:compose`) validates the file by starting it.
 */

const ROOT = path.resolve(__dirname, "../..")
const COMPOSE_FILE = path.join(ROOT, "docker-compose.yml")
const BUILD_SECRETS_FILE = path.join(ROOT, "docker-compose.build-secrets.yml")
const ENV_EXAMPLE = path.join(ROOT, ".env.example")
const KRATOS_DIR = path.join(ROOT, "kratos")
const KRATOS_IMAGE = "oryd/kratos:v1.3.1"
const ONE_SHOT = ["kratos-config", "kratos-migrate"]
const LONG_RUNNING = ["postgres", "kratos", "service", "mailpit"]
const REQUIRED_SECRETS = [
  "KRATOS_WEBHOOK_API_KEY",
  "KRATOS_SECRET_COOKIE",
  "KRATOS_SECRET_CIPHER",
  "POSTGRES_PASSWORD",
  "KRATOS_DB_PASSWORD",
  "SERVICE_DB_PASSWORD",
]

type Env = Record<string, string>

interface Port {
  target: number
  published?: string
  host_ip?: string
}
interface Mount {
  type: string
  source?: string
  target: string
  read_only: boolean
}
interface Service {
  image?: string
  build?: { context: string; dockerfile: string; secrets?: { source: string }[] }
  command: string[]
  entrypoint: string[]
  environment: Env
  ports: Port[]
  volumes: Mount[]
  depends_on: Record<string, string>
  healthcheck?: { test?: string[]; disable?: boolean }
  restart?: string
  user?: string
  network_mode?: string
}
interface Stack {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}

// --- the compose binary ---------------------------------------------------------------------

/** Only what compose needs: variables of the caller's shell would override the env file. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = ["PATH", "HOME", "DOCKER_CONFIG", "TMPDIR"]
  return Object.fromEntries(keep.filter((k) => process.env[k]).map((k) => [k, process.env[k]]))
}

/** COMPOSE_BIN, else the binary go-tool.sh caches, else the docker CLI's compose plugin. */
function findCompose(): string[] | null {
  const works = (cmd: string[]) =>
    spawnSync(cmd[0]!, [...cmd.slice(1), "version"], { encoding: "utf8", env: cleanEnv() })
      .status === 0
  if (process.env.COMPOSE_BIN) return [process.env.COMPOSE_BIN]
  const version = /COMPOSE_VERSION:-(v[\d.]+)/.exec(
    readFileSync(path.join(ROOT, "test/compose/go-tool.sh"), "utf8"),
  )?.[1]
  const cache = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache")
  const cached = path.join(cache, "kratos-guard", `docker-compose-${version}`)
  if (existsSync(cached) && works([cached])) return [cached]
  if (works(["docker", "compose"])) return ["docker", "compose"]
  return null
}

const COMPOSE = findCompose()

function compose(env: Env, args: string[], files = [COMPOSE_FILE]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kg-compose-"))
  try {
    const envFile = path.join(dir, "stack.env")
    writeFileSync(
      envFile,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
    )
    const out = spawnSync(
      COMPOSE![0]!,
      [
        ...COMPOSE!.slice(1),
        ...files.flatMap((f) => ["-f", f]),
        "--project-directory",
        ROOT,
        "--env-file",
        envFile,
        ...args,
      ],
      { encoding: "utf8", env: cleanEnv(), cwd: ROOT },
    )
    if (out.status !== 0) throw new Error(`docker compose ${args.join(" ")} failed: ${out.stderr}`)
    return out.stdout
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function loadStack(env: Env, files?: string[]): Stack {
  const json = JSON.parse(compose(env, ["config", "--format", "json"], files)) as unknown
  // `config` re-escapes every `$` as `$$` so its output stays valid compose.
  return normalize(mapStrings(json, (s) => s.replace(/\$\$/g, "$")))
}

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value)
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f))
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]))
  }
  return value
}

/** Compose's canonical output, in the shapes the assertions read. */
function normalize(doc: unknown): Stack {
  const d = doc as {
    services?: Record<string, Record<string, unknown>>
    volumes?: Record<string, unknown>
  }
  const services: Record<string, Service> = {}
  for (const [name, s] of Object.entries(d.services ?? {})) {
    services[name] = {
      image: s.image as string | undefined,
      build: s.build as Service["build"],
      command: (s.command as string[] | null) ?? [],
      entrypoint: (s.entrypoint as string[] | null) ?? [],
      environment: Object.fromEntries(
        Object.entries((s.environment as Record<string, string | null>) ?? {}).map(([k, v]) => [
          k,
          v ?? "",
        ]),
      ),
      ports: ((s.ports as Port[]) ?? []).map((p) => ({
        target: Number(p.target),
        published: p.published,
        host_ip: p.host_ip,
      })),
      volumes: ((s.volumes as Mount[]) ?? []).map((m) => ({
        ...m,
        read_only: m.read_only === true,
      })),
      depends_on: Object.fromEntries(
        Object.entries((s.depends_on as Record<string, { condition: string }>) ?? {}).map(
          ([k, o]) => [k, o.condition],
        ),
      ),
      healthcheck: s.healthcheck as Service["healthcheck"],
      restart: s.restart as string | undefined,
      user: s.user as string | undefined,
      network_mode: s.network_mode as string | undefined,
    }
  }
  return { services, volumes: d.volumes ?? {} }
}

// --- the env files ----------------------------------------------------------------------------

function parseEnvFile(text: string): Env {
  const env: Env = {}
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (!m) continue
    env[m[1]!] = m[2]!.trim().replace(/^(["'])(.*)\1$/, "$2")
  }
  return env
}

/** The variables the compose file interpolates (`$$` is an escaped `$`, not a variable). */
function composeVariables(): Set<string> {
  const names = new Set<string>()
  const doc: unknown = parse(readFileSync(COMPOSE_FILE, "utf8"), {
    merge: true,
  })
  mapStrings(doc, (s) => {
    const unescaped = s.replace(/\$\$/g, "")
    for (const m of unescaped.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!)
    return s
  })
  return names
}

/** A distinct, valid-looking value per required secret, so each can be traced through the stack. */
function sentinelEnv(): Env {
  const env: Env = { ...parseEnvFile(readFileSync(ENV_EXAMPLE, "utf8")) }
  for (const name of REQUIRED_SECRETS)
    env[name] = `${name.toLowerCase().replace(/_/g, "")}${"0".repeat(40)}`
  env.KRATOS_SECRET_CIPHER = "c1pher0123456789abcdef0123456789"
  env.PUBLIC_URL = "https://id.example.test"
  return env
}

function imageTag(image: string): string | undefined {
  if (image.includes("@sha256:")) return image.split("@")[1]
  const last = image.split("/").pop()!
  return last.includes(":") ? last.split(":").pop() : undefined
}

function publishedPorts(stack: Stack): Array<{ service: string } & Port> {
  return Object.entries(stack.services).flatMap(([service, s]) =>
    s.ports
      .filter((p) => p.published !== undefined && p.published !== "")
      .map((p) => ({ service, ...p })),
  )
}

// --- tests ----------------------------------------------------------------------------------

const describeWithCompose = COMPOSE ? describe : describe.skip

describeWithCompose("docker-compose.yml, as `docker compose config` reads it", () => {
  const env = sentinelEnv()
  let stack: Stack

  beforeAll(() => {
    stack = loadStack(env)
  })

  describe("when the stack is parsed", () => {
    it("then it has postgres, kratos-config, kratos-migrate, kratos, service and mailpit", () => {
      expect(Object.keys(stack.services).sort()).toEqual(
        expect.arrayContaining([
          "kratos",
          "kratos-config",
          "kratos-migrate",
          "mailpit",
          "postgres",
          "service",
        ]),
      )
    })

    it("then every image is pinned to a tag, never latest", () => {
      for (const [name, s] of Object.entries(stack.services)) {
        expect({ name, image: s.image }).toEqual({
          name,
          image: expect.any(String),
        })
        const tag = imageTag(s.image!)
        expect({ name, tag }).toEqual({
          name,
          tag: expect.stringMatching(/\S/),
        })
        expect({ name, tag }).not.toEqual({ name, tag: "latest" })
      }
    })

    it("then every Kratos container runs exactly oryd/kratos:v1.3.1", () => {
      expect(stack.services.kratos!.image).toBe(KRATOS_IMAGE)
      expect(stack.services["kratos-migrate"]!.image).toBe(KRATOS_IMAGE)
      const kratosImages = Object.values(stack.services)
        .map((s) => s.image!)
        .filter((i) => /(^|\/)kratos[:@]/.test(i))
      expect(new Set(kratosImages)).toEqual(new Set([KRATOS_IMAGE]))
    })

    it("then postgres is a pinned 16.x Alpine image and mailpit a pinned v1 release", () => {
      expect(stack.services.postgres!.image).toMatch(/^postgres:16\.\d+-alpine$/)
      expect(stack.services.mailpit!.image).toMatch(/^axllent\/mailpit:v1\.\d+\.\d+$/)
    })

    it("then the service image is built from webhooks/Dockerfile with the repository as context", () => {
      for (const name of ["service", "kratos-config"]) {
        const build = stack.services[name]!.build as {
          context: string
          dockerfile: string
        }
        expect(path.resolve(ROOT, build.context)).toBe(ROOT)
        expect(build.dockerfile).toBe("webhooks/Dockerfile")
      }
      expect(stack.services["kratos-config"]!.image).toBe(stack.services.service!.image)
    })

    it("then every long-running service has a healthcheck and restarts unless stopped", () => {
      for (const name of LONG_RUNNING) {
        const s = stack.services[name]!
        expect({ name, restart: s.restart }).toEqual({
          name,
          restart: "unless-stopped",
        })
        expect(s.healthcheck?.disable).not.toBe(true)
        expect({ name, test: s.healthcheck?.test }).toEqual({
          name,
          test: expect.anything(),
        })
        expect(s.healthcheck!.test!.length).toBeGreaterThan(1)
      }
    })

    it("then the one-shot services are never restarted", () => {
      for (const name of ONE_SHOT)
        expect([undefined, "no"]).toContain(stack.services[name]!.restart)
    })

    it("then the service's healthcheck asks its own /health/ready with node", () => {
      const test = stack.services.service!.healthcheck!.test!.join(" ")
      expect(test).toMatch(/\bnode\b/)
      expect(test).toContain("http://127.0.0.1:4455/health/ready")
    })

    it("then kratos-migrate waits for a healthy postgres and a successfully rendered config", () => {
      const m = stack.services["kratos-migrate"]!
      expect(m.depends_on).toEqual({
        postgres: "service_healthy",
        "kratos-config": "service_completed_successfully",
      })
      expect(m.command).toEqual(["migrate", "sql", "-e", "--yes", "-c", "/rendered/kratos.yml"])
    })

    it("then kratos starts only after its migrations completed successfully", () => {
      const k = stack.services.kratos!
      expect(k.depends_on).toMatchObject({
        "kratos-migrate": "service_completed_successfully",
        postgres: "service_healthy",
      })
      expect(k.command.slice(0, 3)).toEqual(["serve", "-c", "/rendered/kratos.yml"])
      expect(k.command).toContain("--watch-courier")
    })

    it("then Kratos runs in production mode: without --dev, so its cookies are Secure", () => {
      for (const name of ["kratos", "kratos-migrate"]) {
        expect([name, stack.services[name]!.command.includes("--dev")]).toEqual([name, false])
      }
    })

    it("then the service starts only once postgres and kratos are healthy", () => {
      expect(stack.services.service!.depends_on).toMatchObject({
        postgres: "service_healthy",
        kratos: "service_healthy",
      })
    })

    it("then Kratos reads the rendered config and the mounted kratos folder read-only", () => {
      const renderer = stack.services["kratos-config"]!
      const out = renderer.volumes.find((v) => v.target === "/rendered")!
      expect(out).toMatchObject({ type: "volume", read_only: false })
      expect(renderer.environment).toMatchObject({
        KRATOS_CONFIG_DIR: "/etc/config/kratos",
        KRATOS_RENDERED_CONFIG: "/rendered/kratos.yml",
      })
      for (const name of ["kratos", "kratos-migrate"]) {
        const vols = stack.services[name]!.volumes
        expect(vols.find((v) => v.target === "/rendered")).toMatchObject({
          type: "volume",
          source: out.source,
          read_only: true,
        })
        const folder = vols.find((v) => v.target === "/etc/config/kratos")!
        expect(folder).toMatchObject({ type: "bind", read_only: true })
        expect(path.resolve(ROOT, folder.source!)).toBe(KRATOS_DIR)
      }
    })

    it("then the config renderer runs without a network", () => {
      expect(stack.services["kratos-config"]!.network_mode).toBe("none")
    })

    it("then only the service port and the mail inbox are published", () => {
      const published = publishedPorts(stack).map(({ service, target }) => `${service}:${target}`)
      expect(published.sort()).toEqual(["mailpit:8025", "service:4455"])
      expect(stack.services.service!.ports[0]!.published).toBe(env.PUBLIC_PORT ?? "4455")
    })

    it("then Kratos's public and admin ports are reachable inside the network only", () => {
      for (const p of publishedPorts(stack)) expect([4433, 4434]).not.toContain(p.target)
      expect(stack.services.kratos!.ports).toEqual([])
    })

    it("then the service's port is bound to every interface unless PUBLIC_BIND names one", () => {
      const withoutBind = { ...env }
      delete withoutBind.PUBLIC_BIND
      expect(loadStack(withoutBind).services.service!.ports[0]!.host_ip).toBe("0.0.0.0")
      const local = loadStack({ ...env, PUBLIC_BIND: "127.0.0.1" })
      expect(local.services.service!.ports[0]!.host_ip).toBe("127.0.0.1")
    })

    it("then the service keeps hook deliveries 7 days unless HOOK_DELIVERY_RETENTION_DAYS says otherwise", () => {
      const without = { ...env }
      delete without.HOOK_DELIVERY_RETENTION_DAYS
      expect(loadStack(without).services.service!.environment.HOOK_DELIVERY_RETENTION_DAYS).toBe(
        "7",
      )
    })

    it("then the service sends security events to public receivers only, with the service's own delivery defaults, unless the env file says otherwise", () => {
      const without = { ...env }
      for (const name of Object.keys(without)) if (name.startsWith("EVENT_")) delete without[name]
      const service = loadStack(without).services.service!.environment
      const names = [
        "EVENT_SUBSCRIBER_ALLOWED_NETWORKS",
        "EVENT_DELIVERY_MAX_ATTEMPTS",
        "EVENT_DELIVERY_TIMEOUT_MS",
        "EVENT_DELIVERY_LANES",
      ] as const
      // The same defaults as the service's own (webhooks/config.ts).
      for (const name of names)
        expect([name, service[name]]).toEqual([
          name,
          String(configSchema.shape[name].parse(undefined)),
        ])
      expect(service.EVENT_SUBSCRIBER_ALLOWED_NETWORKS).toBe("")
      const internal = loadStack({ ...env, EVENT_SUBSCRIBER_ALLOWED_NETWORKS: "10.20.0.0/16" })
      expect(internal.services.service!.environment.EVENT_SUBSCRIBER_ALLOWED_NETWORKS).toBe(
        "10.20.0.0/16",
      )
    })

    it("then with docker-compose.build-secrets.yml the service image's build gets the CA bundle and npm config as secrets, and refuses to start without them", () => {
      const files = [COMPOSE_FILE, BUILD_SECRETS_FILE]
      const withSecrets = loadStack(
        { ...env, BUILD_CA_CERTIFICATES: ENV_EXAMPLE, BUILD_NPMRC: "/dev/null" },
        files,
      )
      for (const name of ["service", "kratos-config"]) {
        const sources = (withSecrets.services[name]!.build!.secrets ?? []).map((x) => x.source)
        expect([name, sources.sort()]).toEqual([name, ["ca_certificates", "npmrc"]])
      }
      expect(() => loadStack({ ...env, BUILD_NPMRC: "/dev/null" }, files)).toThrow(
        "BUILD_CA_CERTIFICATES",
      )
      expect(stack.services.service!.build!.secrets ?? []).toEqual([])
    })

    it("then the mail inbox listens on the loopback by default", () => {
      const withoutBind = { ...env }
      delete withoutBind.MAIL_UI_BIND
      const inbox = loadStack(withoutBind).services.mailpit!.ports[0]!
      expect(inbox.host_ip).toBe("127.0.0.1")
    })

    it("then the service listens on every interface of its container and finds Kratos by name", () => {
      expect(stack.services.service!.environment).toMatchObject({
        NODE_ENV: "production",
        HOST: "0.0.0.0",
        PORT: "4455",
        PUBLIC_URL: env.PUBLIC_URL,
        KRATOS_PUBLIC_URL: "http://kratos:4433",
        KRATOS_ADMIN_URL: "http://kratos:4434",
      })
      expect(stack.services["kratos-config"]!.environment).toMatchObject({
        PUBLIC_URL: env.PUBLIC_URL,
        HOOKS_URL: "http://service:4455",
        KRATOS_ADMIN_URL: "http://kratos:4434",
      })
    })

    it("then every secret reaches its containers from the env file", () => {
      const s = stack.services
      expect(s["kratos-config"]!.environment).toMatchObject({
        KRATOS_WEBHOOK_API_KEY: env.KRATOS_WEBHOOK_API_KEY,
        KRATOS_SECRET_COOKIE: env.KRATOS_SECRET_COOKIE,
        KRATOS_SECRET_CIPHER: env.KRATOS_SECRET_CIPHER,
      })
      expect(s.service!.environment.KRATOS_WEBHOOK_API_KEY).toBe(env.KRATOS_WEBHOOK_API_KEY)
      expect(s.postgres!.environment).toMatchObject({
        POSTGRES_PASSWORD: env.POSTGRES_PASSWORD,
        KRATOS_DB_PASSWORD: env.KRATOS_DB_PASSWORD,
        SERVICE_DB_PASSWORD: env.SERVICE_DB_PASSWORD,
      })
      expect(s.service!.environment.DATABASE_URL).toBe(
        `postgres://kratos_guard:${env.SERVICE_DB_PASSWORD}@postgres:5432/kratos_guard`,
      )
      for (const name of ["kratos", "kratos-migrate"]) {
        expect(s[name]!.environment.DSN).toBe(
          `postgres://kratos:${env.KRATOS_DB_PASSWORD}@postgres:5432/kratos?sslmode=disable&max_conns=20&max_idle_conns=20`,
        )
      }
    })

    it("then the compose file itself holds no secret", () => {
      const raw = parse(readFileSync(COMPOSE_FILE, "utf8"), {
        merge: true,
      }) as {
        services: Record<string, Record<string, unknown>>
      }
      const secretish = /PASSWORD|SECRET|API_KEY|TOKEN|^DSN$|DATABASE_URL/
      for (const [name, s] of Object.entries(raw.services)) {
        for (const [key, value] of Object.entries(
          (s.environment as Record<string, string>) ?? {},
        )) {
          if (secretish.test(key))
            expect({ name, key, value }).toEqual({
              name,
              key,
              value: expect.stringContaining("${"),
            })
        }
      }
      const text = readFileSync(COMPOSE_FILE, "utf8")
      const example = parseEnvFile(readFileSync(ENV_EXAMPLE, "utf8"))
      for (const name of REQUIRED_SECRETS) expect(text).not.toContain(example[name]!)
    })
  })

  describe.each(REQUIRED_SECRETS.concat("PUBLIC_URL"))("when %s is missing", (name) => {
    it("then the stack refuses to parse, naming it", () => {
      const without = { ...env }
      delete without[name]
      expect(() => loadStack(without)).toThrow(name)
      expect(() => loadStack({ ...without, [name]: "" })).toThrow(name)
    })
  })
})

describe(".env.example", () => {
  const example = parseEnvFile(readFileSync(ENV_EXAMPLE, "utf8"))
  const text = readFileSync(ENV_EXAMPLE, "utf8")

  it("when compared with the compose file, then it lists every variable the compose file uses", () => {
    const missing = [...composeVariables()].filter((v) => !(v in example))
    expect(missing).toEqual([])
  })

  const itWithCompose = COMPOSE ? it : it.skip
  itWithCompose("when used as the env file, then the stack parses", () => {
    expect(() => loadStack(example)).not.toThrow()
  })

  itWithCompose(
    "when the compose test writes its .env from it, then no placeholder is left, each secret is fresh and the stack parses",
    () => {
      const settings = { PUBLIC_URL: "http://localhost:40123", PUBLIC_PORT: "40123" }
      const first = parseEnvFile(composeEnvFile(text, settings))
      const second = parseEnvFile(composeEnvFile(text, settings))
      expect(Object.keys(first).sort()).toEqual(Object.keys(example).sort())
      for (const name of REQUIRED_SECRETS) {
        expect(first[name]).not.toMatch(/change-me/)
        expect(first[name]).not.toBe(second[name])
      }
      expect(first.KRATOS_SECRET_CIPHER).toMatch(/^[0-9a-f]{32}$/)
      expect(first.PUBLIC_URL).toBe("http://localhost:40123")
      const stack = loadStack(first)
      expect(stack.services.service!.ports[0]!.published).toBe("40123")
    },
  )

  it("when read, then every secret is a change-me placeholder and says how to generate one", () => {
    for (const name of REQUIRED_SECRETS)
      expect({ name, value: example[name] }).toEqual({
        name,
        value: expect.stringMatching(/^change-me/),
      })
    expect(text).toContain("openssl rand -hex 32")
    expect(example.KRATOS_SECRET_CIPHER).toHaveLength(32)
  })
})

describeWithCompose(
  "the kratos-config entrypoint (kratos/compose-entrypoint.sh, as the image runs it)",
  () => {
    let dir: string
    const uid = process.getuid?.() ?? 0
    const gid = process.getgid?.() ?? 0

    beforeAll(() => {
      // The same bundle webhooks/Dockerfile builds into dist/kratos/.
      dir = mkdtempSync(path.join(os.tmpdir(), "kg-kratos-config-"))
      const esbuild = require("esbuild") as typeof import("esbuild")
      esbuild.buildSync({
        entryPoints: [path.join(KRATOS_DIR, "render-config.ts")],
        bundle: true,
        platform: "node",
        target: "node20",
        packages: "external",
        outfile: path.join(dir, "render-config.js"),
        logLevel: "silent",
      })
      copyFileSync(path.join(KRATOS_DIR, "kratos.yml"), path.join(dir, "kratos.yml"))
      copyFileSync(
        path.join(KRATOS_DIR, "compose-entrypoint.sh"),
        path.join(dir, "compose-entrypoint.sh"),
      )
    })

    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    let composeEnv: Env

    beforeAll(() => {
      composeEnv = loadStack(sentinelEnv()).services["kratos-config"]!.environment
    })

    function run(overrides: Env) {
      const out = path.join(dir, `kratos-${Math.random().toString(36).slice(2)}.yml`)
      const env = {
        PATH: process.env.PATH!,
        NODE_PATH: path.join(ROOT, "node_modules"),
        ...composeEnv,
        KRATOS_RENDERED_CONFIG: out,
        KRATOS_UID: String(uid),
        KRATOS_GID: String(gid),
        ...overrides,
      }
      const r = spawnSync("sh", [path.join(dir, "compose-entrypoint.sh")], {
        env,
        encoding: "utf8",
      })
      return { ...r, out }
    }

    it("when the secrets are valid, then it renders a private Kratos config that points at the mounted folder", () => {
      const r = run({})
      expect(r.stderr).toBe("")
      expect(r.status).toBe(0)
      expect(statSync(r.out).mode & 0o777).toBe(0o600)
      const config = parse(readFileSync(r.out, "utf8"))
      expect(config.serve.public.base_url).toBe("https://id.example.test/")
      expect(config.identity.schemas[0].url).toBe("file:///etc/config/kratos/identity.schema.json")
      expect(config.secrets.cipher).toEqual(["c1pher0123456789abcdef0123456789"])
      expect(config.courier.smtp.connection_uri).toBe("smtp://mailpit:1025/?disable_starttls=true")
      expect(JSON.stringify(config)).toContain("http://service:4455/hooks/")
    })

    it("when it gets the .env.example placeholders, then it refuses to render", () => {
      const example = parseEnvFile(readFileSync(ENV_EXAMPLE, "utf8"))
      const r = run({
        KRATOS_WEBHOOK_API_KEY: example.KRATOS_WEBHOOK_API_KEY!,
        KRATOS_SECRET_COOKIE: example.KRATOS_SECRET_COOKIE!,
        KRATOS_SECRET_CIPHER: example.KRATOS_SECRET_CIPHER!,
      })
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(/placeholder/)
      expect(existsSync(r.out)).toBe(false)
    })

    it("when the cipher secret is not 32 characters, then it refuses to render", () => {
      const r = run({ KRATOS_SECRET_CIPHER: "too-short-0123456789" })
      expect(r.status).not.toBe(0)
      expect(r.stderr).toContain("KRATOS_SECRET_CIPHER")
      expect(existsSync(r.out)).toBe(false)
    })
  },
)
