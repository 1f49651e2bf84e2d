/**
 * One flow never loses the whole HAR: a flow too big to write whole, or whose body cannot be
 * read, is written cut and says so in `_truncated`; one that cannot be written at all is left out
 * with a note in the log's comment. The other flows are written whole and the file stays valid.
 * Real files and the real body store; limits lowered so nothing here allocates more than a few MiB.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BodyInfo, HttpFlow } from '../../src-common/flow';
import type { HarWebSocketMessage } from '../../src-common/har/export';
import type { HarEntry, HarLog } from '../../src-common/har/types';
import type { WsMessage } from '../../src-common/websocket';
import {
  makeBody,
  makeFlow,
  makeRequest,
  makeResponse,
  makeTunnel,
} from '../test-support/factories';
import { validateHar } from '../test-support/har-schema';
import { deadline } from '../test-support/wait';
import { BodyStore } from './body-store';
import { writeHarFile } from './har-file';

type Entry = HarEntry & { _webSocketMessages?: HarWebSocketMessage[]; _truncated?: string };

let dir: string;
let bodies: BodyStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-har-cut-'));
  bodies = new BodyStore({ dir: join(dir, 'bodies'), memoryBudget: 4096 });
});
afterEach(async () => {
  await bodies.close();
  rmSync(dir, { recursive: true, force: true });
});

function stored(id: string, data: Buffer): BodyInfo {
  bodies.append(id, data);
  bodies.finish(id);
  return makeBody({ size: data.length, captured: data.length, bodyId: id });
}

/** A plain flow whose response body is `text`, from the store. */
const plain = (id: string, text: string): HttpFlow =>
  makeFlow({
    id,
    response: makeResponse({
      headers: [['Content-Type', 'text/plain']],
      body: stored(`${id}:res`, Buffer.from(text)),
    }),
  });

function read(path: string): {
  doc: HarLog & { log: { comment?: string } };
  byId: Record<string, Entry>;
} {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as HarLog & { log: { comment?: string } };
  return { doc, byId: Object.fromEntries(doc.log.entries.map((e) => [e._loupeId, e as Entry])) };
}

/** A WebSocket flow with `count` text messages, every one of them `payload` (one string, shared). */
function webSocket(id: string, payload: string, count: number): HttpFlow {
  const messages: WsMessage[] = Array.from({ length: count }, (_, i) => ({
    direction: i % 2 ? 'receive' : 'send',
    time: Date.UTC(2026, 10, 24, 12, 0, 1) + i,
    opcode: 1,
    size: payload.length,
    wireSize: payload.length,
    compressed: false,
    data: payload,
  }));
  return makeFlow({
    id,
    response: makeResponse({
      status: 101,
      statusText: 'Switching Protocols',
      headers: [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
      ],
      body: makeBody(),
    }),
    websocket: { messages, messagesDropped: 0 },
  });
}

describe('writeHarFile: one flow cannot lose the capture', () => {
  it('writes a WebSocket whose messages pass the longest string V8 can hold cut, saying so in _truncated, and the other flows whole', async () => {
    // 2,100 messages of 256 KiB: 525 MiB of text, more than one JavaScript string can hold, at
    // the cost of one 256 KiB string. The limit is lowered so that only 4 MiB of it is written.
    const payload = 'w'.repeat(256 * 1024);
    const ws = webSocket('ws', payload, 2100);
    const flows = [
      plain('before', 'first flow'),
      ws,
      plain('after', 'last flow'),
      makeTunnel({ id: 'tunnel' }),
    ];
    await deadline(bodies.settled(), 'the bodies to be stored');
    const path = join(dir, 'ws.har');
    const result = await writeHarFile(path, flows, bodies, {
      creatorVersion: '1',
      limits: { webSocketText: 4 * 1024 * 1024 },
    });

    const { doc, byId } = read(path);
    expect(validateHar(doc)).toEqual([]);
    expect(doc.log.entries.map((e) => e._loupeId)).toEqual(['before', 'ws', 'after', 'tunnel']);
    const cut = byId.ws!;
    expect(cut._webSocketMessages).toHaveLength(16);
    expect(cut._webSocketMessages!.every((m) => m.data === payload)).toBe(true);
    expect(cut._truncated).toBe(
      "Loupe wrote the first 16 of 2100 WebSocket messages: the rest would pass the export's limit of 4 MiB of message text per entry.",
    );
    expect(byId.before!.response.content.text).toBe('first flow');
    expect(byId.after!.response.content.text).toBe('last flow');
    for (const id of ['before', 'after', 'tunnel']) expect(byId[id]!._truncated).toBeUndefined();
    expect(result).toEqual({ written: 4, cut: 1, skipped: 0 });
  });

  it('writes a body past the export’s limit cut, saying so on the entry as well as on the body', async () => {
    const flows = [plain('big', 'b'.repeat(3000)), plain('small', 'fits')];
    await deadline(bodies.settled(), 'the bodies to be stored');
    const path = join(dir, 'body.har');
    await writeHarFile(path, flows, bodies, { creatorVersion: '1', limits: { bodyBytes: 1000 } });
    const { doc, byId } = read(path);
    expect(validateHar(doc)).toEqual([]);
    expect(byId.big!.response.content).toMatchObject({
      size: 3000,
      text: 'b'.repeat(1000),
      _truncated: true,
    });
    expect(byId.big!._truncated).toBe(
      "Response body: Loupe wrote the first 1000 bytes of it (the export's cap).",
    );
    expect(byId.small!.response.content.text).toBe('fits');
    expect(byId.small!._truncated).toBeUndefined();
  });

  it('writes bodies longer than one piece whole, text and base64 alike', async () => {
    // 3 MiB and more, with characters of 2 to 4 bytes across every piece's edge.
    const text = Buffer.from('é😀€ plain text '.repeat(160_000));
    const binary = randomBytes(3 * 1024 * 1024 + 1);
    const flow = makeFlow({
      id: 'long',
      request: makeRequest({
        method: 'POST',
        headers: [['Content-Type', 'application/x-www-form-urlencoded']],
        body: stored('long:req', text),
      }),
      response: makeResponse({
        headers: [['Content-Type', 'application/octet-stream']],
        body: stored('long:res', binary),
      }),
    });
    await deadline(bodies.settled(), 'the bodies to be stored');
    const path = join(dir, 'long.har');
    await writeHarFile(path, [flow], bodies, { creatorVersion: '1' });
    const { doc, byId } = read(path);
    expect(validateHar(doc)).toEqual([]);
    const entry = byId.long!;
    expect(entry.request.postData!.text === text.toString()).toBe(true);
    // A form this long keeps its text only: HAR has params as an alternative to it.
    expect(entry.request.postData!.params).toBeUndefined();
    expect(entry.response.content.encoding).toBe('base64');
    expect(Buffer.from(entry.response.content.text!, 'base64').equals(binary)).toBe(true);
    expect(entry._truncated).toBeUndefined();
  });

  it('writes the other flows whole when one body cannot be read from the body store', async () => {
    // The first body is past the store's memory budget and spills to a file, which then goes.
    const lost = plain(
      'lost',
      'spilled to disk, then removed behind the store’s back. '.repeat(200),
    );
    await deadline(bodies.settled(), 'the first body to spill');
    const flows = [plain('before', 'in memory'), lost, plain('after', 'in memory too')];
    await deadline(bodies.settled(), 'the bodies to be stored');
    const spilled = readdirSync(join(dir, 'bodies'));
    expect(spilled).toHaveLength(1);
    rmSync(join(dir, 'bodies', spilled[0]!));

    const path = join(dir, 'lost.har');
    const result = await writeHarFile(path, flows, bodies, { creatorVersion: '1' });
    const { doc, byId } = read(path);
    expect(validateHar(doc)).toEqual([]);
    expect(doc.log.entries.map((e) => e._loupeId)).toEqual(['before', 'lost', 'after']);
    const content = byId.lost!.response.content;
    expect(content.text).toBeUndefined();
    expect(content._truncated).toBe(true);
    expect(content.comment).toMatch(/^Loupe could not read this body from its store \(ENOENT/);
    expect(byId.lost!._truncated).toMatch(/^Response body: Loupe could not read this body/);
    expect(byId.before!.response.content.text).toBe('in memory');
    expect(byId.after!.response.content.text).toBe('in memory too');
    expect(result).toEqual({ written: 3, cut: 1, skipped: 0 });
  });

  it('leaves out a flow that cannot be written at all, saying so in the log’s comment, and writes the others', async () => {
    const broken = plain('broken', 'never written');
    broken.startedAt = Number.NaN;
    const flows = [plain('before', 'one'), broken, plain('after', 'two')];
    await deadline(bodies.settled(), 'the bodies to be stored');
    const path = join(dir, 'skipped.har');
    const result = await writeHarFile(path, flows, bodies, { creatorVersion: '1' });
    const { doc, byId } = read(path);
    expect(validateHar(doc)).toEqual([]);
    expect(doc.log.entries.map((e) => e._loupeId)).toEqual(['before', 'after']);
    expect(byId.after!.response.content.text).toBe('two');
    expect(doc.log.comment).toBe(
      'Loupe could not write 1 of 3 flows: broken (Invalid time value).',
    );
    expect(result).toEqual({ written: 2, cut: 0, skipped: 1 });
  });
});
