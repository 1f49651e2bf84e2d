/**
 * WebSockets inside decrypted HTTPS (wss://): the `ws` package on both ends, permessage-deflate
 * negotiated, through a CONNECT tunnel that Loupe terminates; every message captured both ways
 * and the conversation unchanged for the peers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { HttpFlow } from '../../src-common/flow';
import { toHarEntry } from '../../src-common/har/export';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';
import { withMessageData } from '../flows/ws-messages';
import { cleanup, proxyHarness } from '../test-support/servers';
import { connectTunnel, httpsUpstream, testPki, type TestPki } from '../test-support/tls';
import { until } from '../test-support/wait';
import { createCapture } from './capture';

let loupe: TestPki;
let origin: TestPki;
let dir: string;

beforeEach(async () => {
  loupe = await testPki();
  origin = await testPki();
  dir = mkdtempSync(join(tmpdir(), 'loupe-wss-'));
});
afterEach(async () => {
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('WebSockets over decrypted TLS', () => {
  it('relays and captures a wss:// conversation with permessage-deflate', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: up.server, perMessageDeflate: true });
    wss.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => {
        if (isBinary) socket.send(Buffer.concat([Buffer.from('echo:'), data as Buffer]));
        else if (String(data) === 'bye') socket.close(4001, 'done here');
        else socket.send(`echo:${String(data)}`);
      });
    });
    const h = await proxyHarness({
      tls: loupe.minter,
      trustedCa: [origin.ca.certPem],
      resolve: [['chat.test', '127.0.0.1']],
    });
    const flows = new FlowStore();
    const bodies = new BodyStore({ dir });
    const capture = createCapture({ hooks: h.proxy.hooks, flows, bodies });

    const raw = await connectTunnel(h.proxy.port, `chat.test:${up.port}`);
    const client = new WebSocket(`wss://chat.test:${up.port}/socket`, {
      perMessageDeflate: true,
      createConnection: () =>
        tls.connect({
          socket: raw,
          servername: 'chat.test',
          ca: loupe.ca.certPem,
          ALPNProtocols: ['http/1.1'],
        }),
    } as WebSocket.ClientOptions);
    const received: string[] = [];
    const closed = new Promise<[number, string]>((resolve) =>
      client.on('close', (code, reason) => resolve([code, reason.toString()])),
    );
    client.on('message', (data) => {
      received.push(data.toString());
      if (received.length === 3) client.send('bye');
    });
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    expect(client.extensions).toContain('permessage-deflate');
    client.send('hello');
    client.send(Buffer.from([1, 2, 3]));
    client.send('x'.repeat(50_000));
    expect(await closed).toEqual([4001, 'done here']);
    expect(received).toEqual([
      'echo:hello',
      'echo:\u0001\u0002\u0003',
      `echo:${'x'.repeat(50_000)}`,
    ]);

    await until(
      'the flow to be complete',
      (notify) => flows.subscribe(notify),
      () => flows.list()[0]?.state === 'complete',
    );
    const flow = (await withMessageData(flows.list()[0]!, bodies)) as HttpFlow;
    expect(flow.request.url).toBe(`https://chat.test:${up.port}/socket`);
    expect(flow.response?.status).toBe(101);
    expect(flow.tls?.client?.sni).toBe('chat.test');
    const messages = flow.websocket!.messages.map((m) => [
      m.direction,
      m.opcode,
      m.data?.slice(0, 12),
    ]);
    expect(messages).toEqual(
      expect.arrayContaining([
        ['send', 1, 'hello'],
        ['receive', 1, 'echo:hello'],
        ['send', 2, Buffer.from([1, 2, 3]).toString('base64')],
        ['send', 1, 'xxxxxxxxxxxx'],
        ['receive', 1, 'echo:xxxxxxx'],
        ['send', 1, 'bye'],
      ]),
    );
    expect(flow.websocket!.messages.some((m) => m.compressed)).toBe(true);
    expect(flow.websocket!.closeCode).toBe(4001);
    const entry = toHarEntry(flow) as unknown as {
      _webSocketMessages: { type: string; data: string }[];
    };
    expect(entry._webSocketMessages.filter((m) => m.type === 'send').map((m) => m.data)).toContain(
      'hello',
    );
    capture.dispose();
    await bodies.close();
    wss.close();
  });
});
