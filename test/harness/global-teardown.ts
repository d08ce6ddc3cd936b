import type { Stack } from "../../scripts/stack"

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as { __stacks?: { stack: Stack; dropDatabases: () => Promise<void> }[] }
  const stacks = g.__stacks ?? []
  // Jest runs the teardown once per project too: the first one stops them all.
  g.__stacks = undefined
  await Promise.all(
    stacks.map(async ({ stack, dropDatabases }) => {
      await stack.stop()
      await dropDatabases()
    }),
  )
}
