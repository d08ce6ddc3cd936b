/**
 * Retries an assertion until it passes or the time is up. Kratos sends post-persist hooks
 * without waiting for them, so what they record appears shortly after the submit returns.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}
