import type { DriverKind } from '../../define-test.ts';

/** Bodies written against the Ui adapter run on Appium devices and on Playwright browser devices. */
export const BOTH: DriverKind[] = ['appium', 'browser'];
