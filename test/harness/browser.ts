import { mkdirSync } from "node:fs"
import path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { ROOT } from "../../scripts/stack"

/** Debian's Chromium; a test tool must never download a browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  })
}

export const SCREENSHOT_DIR = path.join(ROOT, "test-output", "screenshots", "e2e")

/** Saves a screenshot under test-output/ (gitignored), for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}
