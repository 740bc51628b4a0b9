/**
 * Accessibility of the pages people use: axe-core's WCAG 2 A/AA rules find no violation on the client page
 * and the dashboard, and the client page's controls work from the keyboard alone (Tab to the control, then
 * Enter or Space), with no mouse.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';

const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

for (const path of ['/', '/dashboard']) {
  test(`${path}: no WCAG 2 A/AA violations`, async ({ page }) => {
    await page.goto(path);
    await page.waitForLoadState('networkidle');
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG).analyze();
    expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual(
      [],
    );
  });
}

test('the client page is operable from the keyboard', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('#backend-name')).not.toHaveText('–', { timeout: 60_000 });
  // The page's own server announces its key, so the form holds the fingerprint already (the short address
  // joins). Tab through the page until the Join button has focus and press Enter: the tab joins; Leave, from
  // the keyboard too, leaves again.
  await expect(page.locator('#fed-fingerprint')).not.toHaveValue('');
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    if (await page.locator('#fed-join').evaluate((b) => b === document.activeElement)) break;
  }
  await expect(page.locator('#fed-join')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('#fed-leave')).toBeEnabled();
  await expect(page.locator('#fed-status')).not.toHaveAttribute('data-state', 'idle');
  await page.locator('#fed-leave').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#fed-status')).toHaveAttribute('data-state', 'stopped', { timeout: 60_000 });
  await expect(page.locator('#fed-join')).toBeEnabled();
  // The backend select changes with the arrow keys.
  await page.locator('#backend-select').focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.locator('#backend-select')).not.toHaveValue('auto');
  // Every form control has an accessible name.
  for (const id of ['fed-fingerprint', 'fed-code', 'import-dataset', 'import-file', 'backend-select']) {
    await expect(page.locator(`#${id}`)).toHaveAccessibleName(/\S/);
  }
});
