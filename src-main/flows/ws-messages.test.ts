import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpFlow } from '../../src-common/flow';
import type { WsMessage } from '../../src-common/websocket';
import { makeFlow } from '../test-support/factories';
import { BodyStore } from './body-store';
import { withMessageData } from './ws-messages';

let dir: string;
let bodies: BodyStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-ws-messages-'));
  bodies = new BodyStore({ dir });
});
afterEach(async () => {
  await bodies.close();
  rmSync(dir, { recursive: true, force: true });
});

const message = (over: Partial<WsMessage>): WsMessage => ({
  direction: 'receive',
  time: 1,
  opcode: 1,
  size: 0,
  wireSize: 0,
  compressed: false,
  ...over,
});

/** A WebSocket flow whose message payloads are in the body `id:ws`, as capture keeps them. */
function stored(payloads: (string | Buffer)[]): HttpFlow {
  const flow = makeFlow();
  let offset = 0;
  const messages = payloads.map((p) => {
    const bytes = Buffer.from(p);
    bodies.append(`${flow.id}:ws`, bytes);
    const m = message({
      opcode: typeof p === 'string' ? 1 : 2,
      size: bytes.length,
      stored: { offset, length: bytes.length },
      ...(typeof p === 'string' ? {} : { encoding: 'base64' as const }),
    });
    offset += bytes.length;
    return m;
  });
  return { ...flow, websocket: { messages, messagesDropped: 0, bodyId: `${flow.id}:ws` } };
}

const data = (flow: unknown): (string | undefined)[] =>
  (flow as HttpFlow).websocket!.messages.map((m) => m.data);

describe('withMessageData reads kept WebSocket payloads back from the body store', () => {
  it('fills text as text and binary as base64, an empty payload as empty text', async () => {
    const flow = stored(['héllo', Buffer.from([0, 1, 254, 255]), '']);
    expect(data(await withMessageData(flow, bodies))).toEqual(['héllo', 'AAH+/w==', '']);
    // The stored flow is left as it was.
    expect(data(flow)).toEqual([undefined, undefined, undefined]);
  });

  it('stops filling once past maxChars, filling the message that passes it', async () => {
    const flow = stored(['aaaa', 'bbbb', 'cccc']);
    expect(data(await withMessageData(flow, bodies, { maxChars: 5 }))).toEqual([
      'aaaa',
      'bbbb',
      undefined,
    ]);
  });

  it('leaves messages without data, saying why, when the body cannot be read', async () => {
    const flow = stored(['aaaa']);
    const broken = { read: () => Promise.reject(new Error('EIO: i/o error')) };
    const [m] = ((await withMessageData(flow, broken)) as HttpFlow).websocket!.messages;
    expect(m!.data).toBeUndefined();
    expect(m!.error).toBe('Loupe could not read this payload from its store: EIO: i/o error.');
  });
});
