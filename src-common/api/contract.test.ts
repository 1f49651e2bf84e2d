import { describe, expect, it } from 'vitest';
import { makeFlow } from '../../src-main/test-support/factories';
import {
  API_METHODS,
  PATCHABLE_SETTINGS,
  allChannels,
  channelName,
  parseChannel,
  summarize,
} from './contract';
import { checkCall, parseWireCall, validatedMethods } from './validate';

describe('API contract', () => {
  it('derives one channel per method, named loupe:<section>.<method>', () => {
    const channels = allChannels();
    const methodCount = Object.values(API_METHODS).reduce((n, list) => n + list.length, 0);
    expect(channels).toHaveLength(methodCount);
    expect(new Set(channels).size).toBe(channels.length);
    expect(channels).toContain('loupe:flows.list');
    expect(channelName('proxy', 'setRecording')).toBe('loupe:proxy.setRecording');
    for (const channel of channels) expect(channel).toMatch(/^loupe:[a-z]+\.[a-zA-Z]+$/);
  });

  it('validates exactly the methods of the contract', () => {
    expect(
      validatedMethods()
        .map((m) => `loupe:${m}`)
        .sort(),
    ).toEqual(allChannels().sort());
  });

  it.each([
    'loupe:flows.nope',
    'loupe:nope.list',
    'flows.list',
    'loupe:flows.list.extra',
    'loupe:__proto__.list',
    'loupe:flows.constructor',
    42,
    undefined,
  ])('refuses channel %j as unknown_method', (channel) => {
    expect(parseChannel(channel)).toBeUndefined();
    const call = checkCall(channel, []);
    expect(call.ok).toBe(false);
    if (!call.ok) expect(call.error.code).toBe('unknown_method');
  });

  it.each([
    ['loupe:proxy.setRecording', [true], true],
    ['loupe:proxy.setRecording', ['yes'], false],
    ['loupe:proxy.setRecording', [], false],
    ['loupe:proxy.setRecording', [true, false], false],
    ['loupe:proxy.status', [], true],
    ['loupe:proxy.status', [1], false],
    ['loupe:flows.get', ['0f3c-11:ab'], true],
    ['loupe:flows.get', ['../../etc/passwd'], false],
    ['loupe:flows.get', ['x'.repeat(129)], false],
    ['loupe:flows.get', [{ id: 'x' }], false],
    ['loupe:flows.body', ['abc:res'], true],
    ['loupe:settings.update', [{ ui: { sidebarVisible: false } }], true],
    ['loupe:settings.update', [{ bypass: [] }], true],
    ['loupe:settings.update', [{}], false],
    ['loupe:settings.update', [{ autoBypass: [] }], false],
    ['loupe:settings.update', [{ version: 2 }], false],
    ['loupe:settings.update', [[]], false],
    ['loupe:settings.update', [null], false],
    ['loupe:flows.list', 'not-a-list', false],
    ['loupe:settings.update', [{ proxyPort: 9090, stripAltSvcH3: false }], true],
    ['loupe:settings.update', [{ allowInvalidUpstreamCertificates: ['*.test'] }], true],
    ['loupe:settings.update', [{ captureWebSocketCap: 0 }], true],
    ['loupe:settings.update', [{ captureWebSocketCap: 1.5 }], false],
    [
      'loupe:settings.update',
      [{ requestHeadTimeoutSeconds: 30, firstRequestTimeoutSeconds: 5 }],
      true,
    ],
    ['loupe:settings.update', [{ keepAliveTimeoutSeconds: 300 }], true],
    ['loupe:settings.update', [{ keepAliveTimeoutSeconds: '300' }], false],
    ['loupe:settings.update', [{ tunnelIdleTimeoutSeconds: 0 }], true],
    ['loupe:settings.update', [{ tunnelIdleTimeoutSeconds: -1 }], false],
    ['loupe:settings.update', [{ autoBypassHours: 0.5 }], true],
    ['loupe:settings.update', [{ bypass: 'a.test' }], false],
    ['loupe:settings.update', [{ ui: [] }], false],
    ['loupe:settings.forgetLearned', ['pinned.example.com'], true],
    ['loupe:settings.forgetLearned', ['two words'], false],
    ['loupe:settings.forgetLearned', [''], false],
    ['loupe:flows.bodyPart', ['f1:res', { offset: 0, length: 1024, decoded: true }], true],
    ['loupe:flows.bodyPart', ['f1:res', { offset: -1, length: 1024, decoded: true }], false],
    ['loupe:flows.bodyPart', ['f1:res', { offset: 0, length: 0, decoded: true }], false],
    ['loupe:flows.bodyPart', ['f1:res', { offset: 0, length: 5e6, decoded: true }], false],
    ['loupe:flows.bodyPart', ['f1:res', { offset: 0, length: 10, decoded: 'yes' }], false],
    ['loupe:flows.bodyPart', ['f1:res', { offset: 0, length: 10, decoded: true, x: 1 }], false],
    ['loupe:flows.bodyPart', ['f1:res', { offset: 0.5, length: 10, decoded: true }], false],
    ['loupe:sessions.list', [], true],
    ['loupe:sessions.flows', ['har1'], true],
    ['loupe:sessions.close', ['../x'], false],
    ['loupe:har.export', [{ sessionId: 'live', scope: 'all' }], true],
    ['loupe:har.export', [{ sessionId: 'live', scope: 'selected', ids: ['a', 'b'] }], true],
    ['loupe:har.export', [{ sessionId: 'live', scope: 'selected' }], false],
    ['loupe:har.export', [{ sessionId: 'live', scope: 'some' }], false],
    ['loupe:har.export', [{ sessionId: 'live', scope: 'all', ids: ['a b'] }], false],
    ['loupe:har.export', [{ sessionId: 'live', scope: 'all', path: '/etc/x' }], false],
    ['loupe:har.import', [{ kind: 'dialog' }], true],
    ['loupe:har.import', [{ kind: 'dialog', path: '/etc/passwd' }], false],
    ['loupe:har.import', [{ kind: 'upload', uploadId: 'u1', name: 'a.har' }], true],
    ['loupe:har.import', [{ kind: 'upload', uploadId: 'u1' }], false],
    ['loupe:har.import', [{ kind: 'upload', uploadId: 'u1', name: '' }], false],
    ['loupe:har.import', [{ kind: 'path', path: '/etc/passwd' }], false],
  ])('%s %j → ok=%s', (channel, args, ok) => {
    const call = checkCall(channel, args);
    expect(call.ok).toBe(ok);
    if (!call.ok) {
      expect(call.error.code).toBe('invalid_argument');
      expect(call.error.message).toMatch(/^[a-z]+\.[a-zA-Z]+/);
    }
  });

  it("checks the kind of value of every changeable setting; its range is the model's", () => {
    for (const key of PATCHABLE_SETTINGS) {
      const call = checkCall('loupe:settings.update', [{ [key]: null }]);
      expect(call.ok ? undefined : call.error.message).toMatch(
        new RegExp(`^settings\\.update: argument 1 '${key}' must be `),
      );
    }
    // Past the most the settings take, yet a whole number: main refuses it in the model's words.
    expect(checkCall('loupe:settings.update', [{ keepAliveTimeoutSeconds: 10 ** 9 }]).ok).toBe(
      true,
    );
  });

  it.each([
    ['{"id":1,"channel":"loupe:flows.list","args":[]}', true],
    ['not json', false],
    ['[1,2]', false],
    ['{"id":"1","channel":"loupe:flows.list","args":[]}', false],
    ['{"id":-1,"channel":"loupe:flows.list","args":[]}', false],
    ['{"id":1,"args":[]}', false],
    ['{"id":1,"channel":"loupe:flows.list"}', false],
  ])('wire frame %s parses: %s', (text, ok) => {
    expect(parseWireCall(text).ok).toBe(ok);
  });

  it('summaries drop WebSocket payloads and keep their count', () => {
    const flow = makeFlow({
      websocket: {
        messages: [
          {
            direction: 'send',
            time: 1,
            opcode: 1,
            size: 2,
            wireSize: 4,
            compressed: false,
            data: 'hi',
          },
        ],
        messagesDropped: 0,
      },
    });
    const summary = summarize(flow);
    expect(summary.kind === 'http' && summary.websocket).toEqual({
      messagesDropped: 0,
      messageCount: 1,
    });
    expect(flow.websocket?.messages).toHaveLength(1);
    const plain = makeFlow();
    expect(summarize(plain)).toBe(plain);
  });
});
