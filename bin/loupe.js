#!/usr/bin/env node
// Entry of the `loupe` command. The sources are TypeScript and run through tsx, so `npx loupe`
// works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src-main/headless/cli.ts');
