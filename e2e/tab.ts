/** What browser specs read off a client tab (the page `/`). */
import { expect, type Page } from '@playwright/test';

/** The client id the tab shows once the server welcomed it (waits for it). */
export async function clientIdOf(page: Page): Promise<string> {
  const dd = page.locator('#fed-client[data-client-id]');
  await expect(dd).toHaveAttribute('data-client-id', /^c-/, { timeout: 120_000 });
  return (await dd.getAttribute('data-client-id'))!;
}
