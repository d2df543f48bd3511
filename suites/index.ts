// The test API, as a test file imports it from the installed package: `import { defineTest, expect } from
// 'devlab'`. `expect` is devlab's own (Jest's `expect` package), so a partner's repo needs no copy of it;
// `uiFor` and `waitUntil` are the UI helpers of the sample suites, over a Playwright page or a WebdriverIO
// session alike.
export { expect } from 'expect';
export { defineTest, type TestMetaInput } from './define-test.ts';
export type {
  Requirements,
  TestBody,
  TestContext,
  TestDefinition,
  TestLogger,
  TestMeta,
} from './test-api.ts';
export { sel, type Ui, type UiKey, uiFor } from './samples/support/ui.ts';
export { type WaitOptions, waitUntil } from './samples/support/wait.ts';
