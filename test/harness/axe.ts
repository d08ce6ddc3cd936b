import { AxeBuilder } from "@axe-core/playwright"
import type { Page } from "playwright-core"

/**
 * axe-core on every page of the UI and every dialog, at desktop and phone widths: no
 * violation axe rates serious or critical (test/e2e/accessibility-*.e2e.test.ts). Each test
 * gathers what it found on all of its pages and compares the list with an empty one, so a
 * failure names every page, rule and element at once.
 */
export const WIDTHS = [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
]

/** The serious and critical violations on the page as it is now, at both widths. */
export async function audit(page: Page, what: string): Promise<string[]> {
  const found: string[] = []
  const before = page.viewportSize()
  for (const size of WIDTHS) {
    await page.setViewportSize(size)
    // axe.run in the page itself: the default runs axe in each frame and then again in a blank
    // page it opens for the merge, for cross-origin frames, which the UI has none of. The same
    // violations, passes and incompletes on every page checked here, in half the time.
    const { violations } = await new AxeBuilder({ page }).setLegacyMode().analyze()
    for (const v of violations) {
      if (v.impact !== "serious" && v.impact !== "critical") continue
      const where = v.nodes.map((n) => n.target.join(" ")).slice(0, 4)
      // The first element's own account (e.g. the colours and the ratio a contrast check found).
      const why = v.nodes[0]?.any[0]?.message ?? ""
      found.push(
        `${what} at ${size.width}px: ${v.id} (${v.impact}) ${v.help}: ${where.join(" | ")} ${why}`.trim(),
      )
    }
  }
  if (before) await page.setViewportSize(before)
  return found
}

/** Checked pages, for the assertion that none was skipped on the way. */
export function auditor(page: Page) {
  const found: string[] = []
  const seen: string[] = []
  return {
    found,
    seen,
    async check(what: string) {
      // Whatever the page still had to load or animate (dialogs fade in) has settled.
      await page.waitForLoadState("networkidle")
      await page.evaluate(() => document.fonts.ready.then(() => undefined))
      seen.push(what)
      found.push(...(await audit(page, what)))
    },
  }
}
