/**
 * The README's screenshots (`docs/screenshots/NAME.png`) are taken by the browser tests that reach the
 * state they show, but only when asked (`PQFED_SCREENSHOTS=1 npx playwright test`): a plain test run leaves
 * the working tree as it was.
 */
import type { Page } from '@playwright/test';

/** `fullPage: false` keeps to the viewport: the dashboard as a 1280×720 projector shows it. */
export async function saveScreenshot(
  page: Page,
  name: 'client' | 'dashboard',
  opts: { fullPage?: boolean } = {},
): Promise<void> {
  if (process.env.PQFED_SCREENSHOTS !== '1') return;
  await page.screenshot({ path: `docs/screenshots/${name}.png`, fullPage: opts.fullPage ?? true });
}
