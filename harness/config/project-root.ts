import { fileURLToPath } from 'node:url';

/** The checkout devlab runs from: APPIUM_HOME and the default data dir live under it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
