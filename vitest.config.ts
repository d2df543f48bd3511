import { defineConfig } from 'vitest/config';

// Integration tests share one Redis, one Docker engine and one Appium port: run files one at a time
// so that they never race for the same real resource, and give real parts time to start.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
