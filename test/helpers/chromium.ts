// Debian's chromium driven by playwright-core (no browser download). Browser
// tests may be skipped only where chromium is missing and CI is unset: under CI
// a missing chromium is a failure (.ci/run installs it).
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  if (process.env['CI']) throw new Error(`${CHROMIUM} is missing under CI: .ci/run must install Debian's chromium`);
  console.log(`browser tests skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}
