#!/usr/bin/env node
// Entry of the `loupe` command. The sources are TypeScript and run through tsx, so `npx loupe`
// works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/headless/main.ts');
// Exit explicitly: pooled keep-alive sockets or timers must not keep a finished command alive.
process.exit(await main(process.argv.slice(2)));
