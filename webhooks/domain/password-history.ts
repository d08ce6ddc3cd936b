import type { Identity } from "../kratos/types"
import { compare } from "bcryptjs"
import type { Logger } from "pino"
import type { Database } from "../../db/client"
import { forgetHashes, keepHash, keptHashes } from "../data/password-history"
import type { KratosAdmin } from "../kratos/admin"
import { summarise } from "../kratos/identity"

/**
 * Password history ("password history" in Keycloak's terms): a new password may not be any of
 * the identity's last `size` passwords, the current one included, and never the current one
 * (also with `size` 0 or 1). Kratos has no such rule, and a settings submit with the current
 * password stores a new hash (new salt), so "the hash changed" does not mean "the password
 * changed". The proxy, which sees the new password, asks `checkPasswordReuse` before Kratos
 * does.
 *
 * Only hashes are kept: the one Kratos stored after each change (read back from the admin API
 * by `rememberPasswordAfterChange`, and the current one at every check), at most `size` per
 * identity. The current hash is always read from Kratos, so a lost or late post-persist call
 * changes nothing about the verdict.
 */
export interface PasswordHistoryDeps {
  database: Database
  kratos: KratosAdmin
  log: Logger
  /** `PASSWORD_HISTORY`. */
  size: number
}

/**
 * The bcrypt forms bcryptjs verifies (`$2$`, `$2a$`, `$2b$`, `$2y$`; Kratos writes `$2a$`),
 * with their cost. Other formats Kratos can hold (argon2, pbkdf2, scrypt, md5, sha… from an
 * identity import) can't be verified here; Kratos replaces them with bcrypt at the next
 * password sign-in.
 */
const BCRYPT = /^\$2[aby]?\$(\d{2})\$[./A-Za-z0-9]{53}$/

/**
 * Highest bcrypt cost compared (each step doubles the work: about 0.2 s at 12 in bcryptjs, 1.8
 * s at 15). Kratos's own hashes use `KRATOS_BCRYPT_COST`; only an imported hash can be higher,
 * and it is skipped like another format rather than let one submission run for minutes.
 */
export const MAX_BCRYPT_COST = 15

export function bcryptCost(hash: string): number | null {
  const m = BCRYPT.exec(hash)
  return m ? Number(m[1]) : null
}

export function isVerifiable(hash: string): boolean {
  const cost = bcryptCost(hash)
  return cost !== null && cost <= MAX_BCRYPT_COST
}

/** Whether hashes are kept at all: with `size` 0 or 1 the current password is the whole history. */
export function keepsHistory(size: number): boolean {
  return size > 1
}

/**
 * The identity's last `size` passwords as hashes, newest first: the current one (as Kratos
 * holds it) and the kept ones before it. A kept copy of the current hash is not counted twice;
 * when the current one is not kept yet (its post-persist call is late, or it was set at
 * registration or by an import) it still takes the newest place. So the list is what the
 * history holds once the current hash is remembered, and at most `max(size, 1)` long.
 */
export function recentPasswords(
  current: string | null,
  keptNewestFirst: readonly string[],
  size: number,
): string[] {
  const out = current ? [current] : []
  if (!keepsHistory(size)) return out
  for (const hash of keptNewestFirst) {
    if (out.length >= size) break
    if (!out.includes(hash)) out.push(hash)
  }
  return out
}

/**
 * Index of the first hash the candidate matches, or -1. One bcrypt compare per hash, at the
 * cost stored in the hash, one after another (bcryptjs yields to the event loop between
 * rounds), stopping at the first match.
 */
export async function firstMatch(candidate: string, hashes: readonly string[]): Promise<number> {
  for (const [i, hash] of hashes.entries()) {
    if (await compare(candidate, hash)) return i
  }
  return -1
}

export interface ReuseVerdict {
  reused: boolean
  /** bcrypt compares run. */
  compared: number
  /** Hashes in a format that can't be verified here (see MAX_BCRYPT_COST and BCRYPT). */
  skipped: number
}

/**
 * Whether `candidate`, a new password submitted in a settings flow of `identityId`, is the
 * current password or one of the recent ones. Reads Kratos's current hash (admin API) and the
 * kept ones; at most `max(size, 1)` compares. Also remembers the current hash, so a password
 * set outside a settings change enters the history before it is replaced. Throws when Kratos
 * admin or the database can't be read or written: the caller refuses the change (fail closed).
 */
export async function checkPasswordReuse(
  d: PasswordHistoryDeps,
  identityId: string,
  candidate: string,
): Promise<ReuseVerdict> {
  const history = keepsHistory(d.size)
  const [current, kept] = await Promise.all([
    currentHash(d.kratos, identityId),
    history ? keptHashes(d.database.db, identityId, d.size) : [],
  ])
  const recent = recentPasswords(current, kept, d.size)
  const verifiable = recent.filter(isVerifiable)
  const skipped = recent.length - verifiable.length
  if (skipped > 0) {
    d.log.warn(
      { identityId, skipped, formats: recent.filter((h) => !isVerifiable(h)).map(hashFormat) },
      "password reuse check skipped hashes it can't verify",
    )
  }
  const [match] = await Promise.all([
    firstMatch(candidate, verifiable),
    history && current ? remember(d, identityId, current) : undefined,
  ])
  return {
    reused: match >= 0,
    compared: match >= 0 ? match + 1 : verifiable.length,
    skipped,
  }
}

/**
 * Post-persist of a password change: keeps the hash Kratos has just stored. Never throws (Kratos
 * does not wait for this call): a hash missed here is remembered by the next check, which reads
 * the current hash from Kratos anyway. With the history off, forgets the identity's hashes.
 */
export async function rememberPasswordAfterChange(
  d: PasswordHistoryDeps,
  identityId: string,
  /** The stored hash, when the caller reads the identity anyway (one admin read, not two). */
  readHash: () => Promise<string | null> = () => currentHash(d.kratos, identityId),
): Promise<void> {
  try {
    if (!keepsHistory(d.size)) {
      await forgetHashes(d.database.db, identityId)
      return
    }
    const current = await readHash()
    if (current) await remember(d, identityId, current)
  } catch (err) {
    d.log.warn(
      { identityId, err: { message: (err as Error).message } },
      "could not keep the new password hash; the next password change adds it",
    )
  }
}

/** The stored password hash in an identity read with its password credential, or null. */
export function passwordHashOf(identity: Identity | null): string | null {
  const config = identity?.credentials?.password?.config as
    { hashed_password?: unknown } | undefined
  const hash = config?.hashed_password
  return typeof hash === "string" && hash !== "" ? hash : null
}

/**
 * One admin API read of an identity (credentials included) shared by the summary and the
 * password hash a post-persist call needs; other identities are read as usual.
 */
export function sharedRead(kratos: KratosAdmin, identityId: string) {
  let read: Promise<Identity | null> | undefined
  const identity = () => (read ??= kratos.identityWithCredentials(identityId))
  const shared: KratosAdmin = {
    ...kratos,
    summary: async (id) => {
      if (id !== identityId) return kratos.summary(id)
      const i = await identity()
      return i ? summarise(i) : null
    },
  }
  return { kratos: shared, passwordHash: async () => passwordHashOf(await identity()) }
}

/** Kratos's stored hash of the identity's password, or null without one (or without the identity). */
async function currentHash(kratos: KratosAdmin, identityId: string): Promise<string | null> {
  return passwordHashOf(await kratos.identity(identityId, { withPasswordHash: true }))
}

/** Adds the hash as the newest (unless it is kept already) and drops all but the newest `size`. */
async function remember(d: PasswordHistoryDeps, identityId: string, hash: string): Promise<void> {
  if (!isVerifiable(hash)) return
  await keepHash(d.database.db, identityId, hash, d.size)
}

/** What a hash is, for a log line: the algorithm's tag and, for bcrypt, the cost; never the hash. */
function hashFormat(hash: string): string {
  const cost = bcryptCost(hash)
  if (cost !== null) return `bcrypt cost ${cost}`
  const tag = /^(\$[a-z0-9-]{1,20}\$|\{[A-Z0-9]{1,10}\})/.exec(hash)
  return tag ? tag[1]! : "unknown"
}
