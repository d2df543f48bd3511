#!/usr/bin/env node
// The `devlab` bin: runs the TypeScript sources through tsx, so the checkout works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main(process.argv);
