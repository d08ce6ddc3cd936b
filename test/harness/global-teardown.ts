import type { Stack } from "../../scripts/stack"

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as { __stack?: Stack; __dropDatabases?: () => Promise<void> }
  await g.__stack?.stop()
  await g.__dropDatabases?.()
}
