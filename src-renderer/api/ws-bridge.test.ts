import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiEvent } from '../../src-common/api/contract';
import { createWsBridge, type ConnectionState, type SocketLike } from './ws-bridge';

/** A socket the test drives: it records frames and opens, answers and closes on command. */
class FakeSocket implements SocketLike {
  readyState = 0;
  sent: { id: number; channel: string; args: unknown[] }[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.call(this as never, {} as Event);
  }
  receive(frame: unknown): void {
    this.onmessage?.call(this as never, { data: JSON.stringify(frame) } as MessageEvent);
  }
  close(): void {
    this.readyState = 3;
    this.onclose?.call(this as never, {} as CloseEvent);
  }
}

describe('createWsBridge', () => {
  let sockets: FakeSocket[];
  const make = (probe?: () => Promise<boolean>) =>
    createWsBridge('ws://x/api?token=t', probe, () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    });

  beforeEach(() => {
    sockets = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('sends calls on contract channels and settles them by id', async () => {
    const api = make();
    const status = api.proxy.setRecording(false);
    const list = api.flows.list();
    sockets[0]!.open();
    expect(sockets[0]!.sent).toEqual([
      { id: 1, channel: 'loupe:proxy.setRecording', args: [false] },
      { id: 2, channel: 'loupe:flows.list', args: [] },
    ]);
    sockets[0]!.receive({ id: 2, ok: true, result: [] });
    sockets[0]!.receive({ id: 1, ok: false, error: { code: 'unavailable', message: 'no' } });
    await expect(list).resolves.toEqual([]);
    await expect(status).rejects.toEqual({ code: 'unavailable', message: 'no' });
  });

  it('hands events to listeners', () => {
    const api = make();
    const seen: ApiEvent[] = [];
    api.onEvent((e) => seen.push(e));
    sockets[0]!.open();
    sockets[0]!.receive({ event: 'loupe:events', payload: { command: 'clear' } });
    expect(seen).toEqual([{ command: 'clear' }]);
  });

  it('rejects calls in flight when the socket drops, and reconnects with backoff', async () => {
    const api = make();
    const states: ConnectionState['status'][] = [];
    api.onConnection((s) => states.push(s.status));
    sockets[0]!.open();
    const call = api.flows.stats();
    sockets[0]!.close();
    await expect(call).rejects.toMatchObject({ code: 'unavailable' });
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(250);
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(states).toEqual(['connecting', 'open', 'connecting', 'open']);
  });

  it('says the token is refused when the page itself is refused', async () => {
    const api = make(async () => true);
    let last: ConnectionState | undefined;
    api.onConnection((s) => (last = s));
    sockets[0]!.close();
    await vi.runAllTicks();
    await Promise.resolve();
    expect(last?.status).toBe('refused');
  });
});
