/**
 * Issue 14's memory bound for a declined upgrade whose client stopped reading, measured on the
 * real `loupe headless` child (see test-support/memory-scenarios.ts). The issue's other two
 * scenarios depend on how loaded the machine is; bench/memory-bounds.ts reports them.
 */
import { afterEach, expect, it } from 'vitest';
import {
  declinedUpgrade,
  describeGrowth,
  LIMIT,
  MiB,
  SLACK,
} from '../test-support/memory-scenarios';
import { needProcStatus } from '../test-support/proc-memory';
import { cleanup } from '../test-support/servers';

afterEach(cleanup);

it('holds a declined upgrade whose client stopped reading within 64 MB once the server is stuck', async (ctx) => {
  needProcStatus(ctx);
  const g = await declinedUpgrade();
  const written = g.written[0]!;
  console.log(
    `Declined upgrade, server stuck after ${(written / MiB).toFixed(1)} MiB: ${describeGrowth(g)}`,
  );
  expect(written).toBeLessThan(LIMIT);
  expect(g.growth).toBeLessThanOrEqual(SLACK);
}, 120_000);
