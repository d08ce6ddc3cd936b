import postgres from "postgres"
import { stackInfo } from "./stack-info"

let sql: postgres.Sql | undefined

/** A connection to the service's database, for asserting on what the service wrote. */
export function serviceDb(): postgres.Sql {
  if (sql) return sql
  const url = stackInfo().serviceDatabaseUrl
  if (!url)
    throw new Error("this test reads the service database and needs Postgres at 127.0.0.1:5432")
  sql = postgres(url, { max: 2, onnotice: () => {} })
  return sql
}

export async function closeServiceDb(): Promise<void> {
  await sql?.end({ timeout: 2 })
  sql = undefined
}
