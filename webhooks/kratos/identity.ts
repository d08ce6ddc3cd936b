import { createHash } from "node:crypto"
import type { Identity } from "@ory/client"
import { z } from "zod"
import { roles, type Role } from "../policy/roles"

/**
 * What kratos-guard keeps on a Kratos identity. `metadata_public` is readable by the user
 * (whoami) but only writable through the admin API, so role and flags live there; the manager
 * link lives in `metadata_admin`, which the user never sees. Traits are user-writable and hold
 * neither.
 */
export const forcePasswordChange = z.object({
  required: z.boolean(),
  set_at: z.iso.datetime({ offset: true }),
  set_by: z.string().max(200),
  cleared_at: z.iso.datetime({ offset: true }).nullable().optional(),
})
export type ForcePasswordChange = z.infer<typeof forcePasswordChange>

export const guardPublicMetadata = z
  .object({
    role: z.enum(roles).catch("member"),
    role_assigned_at: z.iso.datetime({ offset: true }).nullable().optional().catch(null),
    force_password_change: forcePasswordChange.nullable().optional().catch(null),
  })
  .passthrough()
export type GuardPublicMetadata = z.infer<typeof guardPublicMetadata>

export const guardAdminMetadata = z
  .object({
    manager_id: z.uuid().nullable().optional().catch(null),
    /** Fingerprint of the password hash when a change was required (see passwordFingerprint). */
    force_password_change_fingerprint: z.string().max(64).nullable().optional().catch(null),
  })
  .passthrough()
export type GuardAdminMetadata = z.infer<typeof guardAdminMetadata>

/** Reads our fields from any metadata_public value, with safe defaults for missing or bad data. */
export function readPublicMetadata(raw: unknown): GuardPublicMetadata {
  const parsed = guardPublicMetadata.safeParse(raw && typeof raw === "object" ? raw : {})
  return parsed.success ? parsed.data : { role: "member" }
}

export function roleOf(raw: unknown): Role {
  return readPublicMetadata(raw).role
}

export interface WebauthnKey {
  id: string
  displayName: string
  addedAt: string | null
  passwordless: boolean
}

/**
 * The security-relevant shape of an identity's credentials as the admin API shows them, with
 * every secret dropped: no TOTP URL (it holds the secret), no recovery codes (only how many are
 * left), no public keys.
 */
export interface CredentialSummary {
  identityId: string
  updatedAt: string | null
  createdAt: string | null
  state: string | null
  role: Role
  metadataPublic: GuardPublicMetadata
  managerId: string | null
  metadataAdmin: GuardAdminMetadata
  email: string | null
  /**
   * `fingerprint` identifies the stored hash (or set of recovery codes) without revealing it.
   * Kratos rewrites every credential on any identity update, so `updatedAt` moves even when
   * nothing changed: only the fingerprint tells that a password or the codes really changed.
   */
  password: { updatedAt: string | null; fingerprint: string | null } | null
  /** When the password credential was created (Kratos keeps it across password changes). */
  passwordCreatedAt?: string | null
  totp: { createdAt: string | null } | null
  lookupSecret: {
    updatedAt: string | null
    total: number
    unused: number
    fingerprint: string
  } | null
  webauthn: WebauthnKey[]
  passkeys: WebauthnKey[]
  /**
   * `metadata_public` and `metadata_admin` exactly as Kratos holds them (the parsed fields above
   * replace missing or malformed values with defaults), to tell whether Kratos agrees with the
   * service's record (see domain/authorization.ts).
   */
  rawMetadata?: { public: unknown; admin: unknown }
}

export const CREDENTIALS_TO_INCLUDE = [
  "password",
  "totp",
  "lookup_secret",
  "webauthn",
  "passkey",
] as const

export function summarise(identity: Identity): CredentialSummary {
  const creds = identity.credentials ?? {}
  const meta = readPublicMetadata(identity.metadata_public)
  const admin = guardAdminMetadata.safeParse(identity.metadata_admin ?? {})
  const traits = (identity.traits ?? {}) as { email?: unknown }
  const lookup = creds.lookup_secret
  const codes = lookupCodes(lookup?.config)
  const hashed = (creds.password?.config as { hashed_password?: unknown } | undefined)
    ?.hashed_password
  return {
    identityId: identity.id,
    updatedAt: identity.updated_at ?? null,
    createdAt: identity.created_at ?? null,
    state: identity.state ?? null,
    role: meta.role,
    metadataPublic: meta,
    managerId: admin.success ? (admin.data.manager_id ?? null) : null,
    metadataAdmin: admin.success ? admin.data : {},
    email: typeof traits.email === "string" ? traits.email : null,
    password: creds.password
      ? {
          updatedAt: creds.password.updated_at ?? null,
          fingerprint: typeof hashed === "string" && hashed ? fingerprint(hashed) : null,
        }
      : null,
    passwordCreatedAt: creds.password?.created_at ?? null,
    totp: creds.totp ? { createdAt: creds.totp.created_at ?? null } : null,
    lookupSecret:
      lookup && codes.length > 0
        ? {
            updatedAt: lookup.updated_at ?? null,
            total: codes.length,
            unused: codes.filter((c) => !c.used).length,
            fingerprint: fingerprint(codes.map((c) => c.code).join("\n")),
          }
        : null,
    webauthn: webauthnKeys(creds.webauthn?.config),
    passkeys: webauthnKeys(creds.passkey?.config),
    rawMetadata: {
      public: identity.metadata_public ?? null,
      admin: identity.metadata_admin ?? null,
    },
  }
}

/** Second factors that keep someone at AAL2: TOTP and WebAuthn keys registered for MFA. */
export function secondFactors(s: Pick<CredentialSummary, "totp" | "webauthn">): string[] {
  const out: string[] = []
  if (s.totp) out.push("totp")
  for (const k of s.webauthn) if (!k.passwordless) out.push(`webauthn:${k.id}`)
  return out
}

/**
 * Whether Kratos asks for a second step at sign-in: a second factor, or recovery codes alone.
 * Kratos counts a lookup-secret credential while it holds any codes, used or not
 * (strategy/lookup/strategy.go CountActiveMultiFactorCredentials), so codes without an app or
 * key still put the account at AAL2.
 */
export function kratosAsksSecondStep(
  s: Pick<CredentialSummary, "totp" | "webauthn" | "lookupSecret">,
): boolean {
  return secondFactors(s).length > 0 || (s.lookupSecret?.total ?? 0) > 0
}

/** The posture recorded with every audit entry: what protects the account after a change. */
export function posture(s: CredentialSummary, extra: { aal?: string | null } = {}) {
  const methods: string[] = []
  if (s.password) methods.push("password")
  if (s.totp) methods.push("totp")
  if (s.webauthn.some((k) => !k.passwordless)) methods.push("webauthn")
  if (s.passkeys.length > 0 || s.webauthn.some((k) => k.passwordless)) methods.push("passkey")
  if (s.lookupSecret) methods.push("lookup_secret")
  return {
    role: s.role,
    methods,
    second_factor: secondFactors(s).length > 0,
    webauthn_keys: s.webauthn.filter((k) => !k.passwordless).length,
    recovery_codes_left: s.lookupSecret?.unused ?? 0,
    force_password_change: s.metadataPublic.force_password_change?.required ?? false,
    ...(extra.aal !== undefined ? { aal: extra.aal } : {}),
  }
}
export type Posture = ReturnType<typeof posture>

/** A short one-way fingerprint of a secret, enough to tell "changed" from "unchanged". */
export function fingerprint(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 24)
}

function lookupCodes(config: unknown): { code: string; used: boolean }[] {
  const codes = (config as { recovery_codes?: unknown } | undefined)?.recovery_codes
  if (!Array.isArray(codes)) return []
  return codes.map((c) => {
    const { code, used_at: usedAt } = c as { code?: unknown; used_at?: unknown }
    return {
      code: typeof code === "string" ? code : "",
      used: typeof usedAt === "string" && !usedAt.startsWith("0001-"),
    }
  })
}

function webauthnKeys(config: unknown): WebauthnKey[] {
  const list = (config as { credentials?: unknown } | undefined)?.credentials
  if (!Array.isArray(list)) return []
  return list.map((c) => {
    const k = c as {
      id?: unknown
      display_name?: unknown
      added_at?: unknown
      is_passwordless?: unknown
    }
    return {
      id: typeof k.id === "string" ? k.id : "",
      displayName: typeof k.display_name === "string" ? k.display_name : "",
      addedAt: typeof k.added_at === "string" ? k.added_at : null,
      passwordless: k.is_passwordless === true,
    }
  })
}

/**
 * Kratos's settings form names a WebAuthn key to remove by its id in hex, while the admin API
 * shows the same id base64-encoded; both are turned into hex to compare.
 */
export function webauthnIdToHex(id: string): string {
  if (/^[0-9a-f]+$/i.test(id) && id.length % 2 === 0) return id.toLowerCase()
  return Buffer.from(id.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("hex")
}
