import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/** Debian's Chromium, which the browser tests and the UI bench drive; never a downloaded one. */
export const CHROMIUM = '/usr/bin/chromium'

/** The flags headless Chromium needs here (no sandbox in a container, nothing phoning home). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Launches headless Chromium, or says how to install it when it is missing. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium), as .ci/run does`,
    )
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
}

/** A page of that browser, for the callers that drive it. */
export type { Page } from 'playwright-core'
