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

/**
 * The docker compose stack, as compose itself reads it: `docker compose config --format json`
 * (no Docker engine needed) when the compose plugin is installed, otherwise the same file
 * parsed with `yaml` and interpolated here following the Compose spec's rules.
 */

const ROOT = path.resolve(__dirname, "../..")
const COMPOSE_FILE = path.join(ROOT, "docker-compose.yml")
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
  build?: unknown
  command: string[]
  entrypoint: string[]
  environment: Env
  ports: Port[]
  volumes: Mount[]
  depends_on: Record<string, string>
  healthcheck?: { test?: string[] | string; disable?: boolean }
  restart?: string
  user?: string
  network_mode?: string
}
interface Stack {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}

// --- loading --------------------------------------------------------------------------------

function composePluginWorks(): boolean {
  const r = spawnSync("docker", ["compose", "version"], {
    encoding: "utf8",
    env: cleanEnv(),
  })
  return r.status === 0
}

/** Only what the docker CLI needs: variables of the caller's shell would override the env file. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = ["PATH", "HOME", "DOCKER_CONFIG", "TMPDIR"]
  return Object.fromEntries(keep.filter((k) => process.env[k]).map((k) => [k, process.env[k]]))
}

const PARSER = composePluginWorks() ? "docker compose config" : "yaml + Compose interpolation"

function loadStack(env: Env): Stack {
  const raw = PARSER === "docker compose config" ? viaDockerCompose(env) : viaYaml(env)
  return normalize(raw)
}

function viaDockerCompose(env: Env): unknown {
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
      "docker",
      [
        "compose",
        "-f",
        COMPOSE_FILE,
        "--project-directory",
        ROOT,
        "--env-file",
        envFile,
        "config",
        "--format",
        "json",
      ],
      { encoding: "utf8", env: cleanEnv(), cwd: ROOT },
    )
    if (out.status !== 0) throw new Error(`docker compose config failed: ${out.stderr}`)
    // `config` re-escapes every `$` as `$$` so its output stays valid compose.
    return mapStrings(JSON.parse(out.stdout), (s) => s.replace(/\$\$/g, "$"))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function viaYaml(env: Env): unknown {
  const doc: unknown = parse(readFileSync(COMPOSE_FILE, "utf8"), {
    merge: true,
  })
  return mapStrings(doc, (s) => interpolate(s, env))
}

/** Compose-spec interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, ${VAR+r}. */
function interpolate(input: string, env: Env): string {
  const pattern =
    /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\})/g
  return input.replace(pattern, (whole, dollar, bare, name, op, arg = "") => {
    if (dollar) return "$"
    const key: string = bare ?? name
    const value = env[key]
    const set = value !== undefined
    const nonEmpty = set && value !== ""
    const given = op?.startsWith(":") ? nonEmpty : set
    switch (op?.replace(":", "")) {
      case undefined:
        return value ?? ""
      case "-":
        return given ? value! : interpolate(arg, env)
      case "+":
        return given ? interpolate(arg, env) : ""
      case "?":
        if (!given) throw new Error(`required variable ${key} is missing a value: ${arg}`)
        return value!
      default:
        throw new Error(`unsupported interpolation ${whole}`)
    }
  })
}

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value)
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f))
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]))
  }
  return value
}

/** Long and short syntaxes alike, into the shapes the assertions read. */
function normalize(doc: unknown): Stack {
  const d = doc as {
    services?: Record<string, Record<string, unknown>>
    volumes?: Record<string, unknown>
  }
  const services: Record<string, Service> = {}
  for (const [name, s] of Object.entries(d.services ?? {})) {
    services[name] = {
      image: s.image as string | undefined,
      build: s.build,
      command: argv(s.command),
      entrypoint: argv(s.entrypoint),
      environment: environment(s.environment),
      ports: ((s.ports as unknown[]) ?? []).map(port),
      volumes: ((s.volumes as unknown[]) ?? []).map(mount),
      depends_on: dependsOn(s.depends_on),
      healthcheck: s.healthcheck as Service["healthcheck"],
      restart: s.restart as string | undefined,
      user: s.user as string | undefined,
      network_mode: s.network_mode as string | undefined,
    }
  }
  return { services, volumes: d.volumes ?? {} }
}

function argv(v: unknown): string[] {
  if (v === undefined || v === null) return []
  if (Array.isArray(v)) return v.map(String)
  return String(v).split(/\s+/).filter(Boolean)
}

function environment(v: unknown): Env {
  if (!v) return {}
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((e: string) => {
        const i = e.indexOf("=")
        return i < 0 ? [e, ""] : [e.slice(0, i), e.slice(i + 1)]
      }),
    )
  }
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, x === null ? "" : String(x)]),
  )
}

function port(p: unknown): Port {
  if (typeof p === "object" && p !== null) {
    const o = p as Record<string, unknown>
    return {
      target: Number(o.target),
      published: o.published === undefined ? undefined : String(o.published),
      host_ip: o.host_ip as string | undefined,
    }
  }
  const parts = String(p)
    .replace(/\/(tcp|udp)$/, "")
    .split(":")
  const target = Number(parts.pop())
  const published = parts.pop()
  const host_ip = parts.length ? parts.join(":") : undefined
  return { target, published, host_ip }
}

function mount(m: unknown): Mount {
  if (typeof m === "object" && m !== null) {
    const o = m as Record<string, unknown>
    return {
      type: String(o.type),
      source: o.source as string | undefined,
      target: String(o.target),
      read_only: o.read_only === true,
    }
  }
  const [source, target, mode = ""] = String(m).split(":")
  const isPath = /^[./~]/.test(source!)
  return {
    type: isPath ? "bind" : "volume",
    source,
    target: target!,
    read_only: mode.split(",").includes("ro"),
  }
}

function dependsOn(v: unknown): Record<string, string> {
  if (!v) return {}
  if (Array.isArray(v)) return Object.fromEntries(v.map((n: string) => [n, "service_started"]))
  return Object.fromEntries(
    Object.entries(v as Record<string, { condition?: string }>).map(([k, o]) => [
      k,
      o?.condition ?? "service_started",
    ]),
  )
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

describe(`docker-compose.yml (read by ${PARSER})`, () => {
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
        expect(argv(s.healthcheck!.test).length).toBeGreaterThan(1)
      }
    })

    it("then the one-shot services are never restarted", () => {
      for (const name of ONE_SHOT)
        expect([undefined, "no"]).toContain(stack.services[name]!.restart)
    })

    it("then the service's healthcheck asks its own /health/ready with node", () => {
      const test = argv(stack.services.service!.healthcheck!.test).join(" ")
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
        for (const [key, value] of Object.entries(environment(s.environment))) {
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

  it("when used as the env file, then the stack parses", () => {
    expect(() => loadStack(example)).not.toThrow()
  })

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

describe("the kratos-config entrypoint (kratos/compose-entrypoint.sh, as the image runs it)", () => {
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
})
