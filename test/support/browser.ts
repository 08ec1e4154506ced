import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { ROOT } from './server';

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(ROOT, 'test/artifacts/screenshots');
export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Headless Chromium. playwright-core's launch() gives every browser a fresh temporary user-data dir
 * (and removes it on close), so no state leaks between runs.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM_PATH`);
  if (!existsSync(path.join(ROOT, 'apps/web/dist/index.html'))) throw new Error('apps/web/dist is not built: run `npx nx run @sysfleet/web:build`');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface UiSession {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors seen so far. */
  errors: string[];
}

/** A new cookie jar and page at `baseUrl`, English, laptop-sized unless told otherwise. */
export async function openSession(browser: Browser, baseUrl: string, options: BrowserContextOptions = {}): Promise<UiSession> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: LAPTOP, locale: 'en-US', ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The session probe (GET /api/auth/me) answers 401 before signing in; Chromium logs that as an error.
    if (m.type() === 'error' && !m.text().includes('status of 401')) errors.push(`console: ${m.text()}`);
  });
  return { context, page, errors };
}

/** Signs in through the login form and waits for the signed-in header. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  if (!page.url().includes('/login')) await page.goto('/login');
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

/** Writes test/artifacts/screenshots/<name>.png of the viewport (never the full page of a long list). */
export async function screenshot(page: Page, name: string, { top = true } = {}): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  // Let fonts and the last render settle so the picture shows what a user sees.
  await page.evaluate(async (scrollTop) => {
    if (scrollTop) window.scrollTo(0, 0);
    await document.fonts.ready;
  }, top);
  // Passing "job queued" notices would cover the page in the README pictures.
  await page.screenshot({ path: file, animations: 'disabled', style: '.notices { display: none !important; }' });
  return file;
}

/**
 * Marks the current document; `stillSameDocument` is true only while no full reload or navigation
 * has replaced it, which is how a test proves an update arrived live.
 */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __sysfleetMark?: boolean }).__sysfleetMark = true;
  });
}

export async function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __sysfleetMark?: boolean }).__sysfleetMark === true);
}

/** Navigates inside the single-page app by clicking a main-navigation link (no reload). */
export async function navigate(page: Page, linkName: string): Promise<void> {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: linkName, exact: true }).click();
}
