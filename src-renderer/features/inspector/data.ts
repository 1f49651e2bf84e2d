/**
 * What the inspector fetches: the full flow behind the selected summary (again whenever the
 * summary object changes, e.g. pending → complete), and a body read in parts on demand.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { FlowSummary } from '../../../src-common/api/contract';
import type { BodyInfo, Flow } from '../../../src-common/flow';
import { fromBase64 } from '../../../src-common/inspect/text';
import { getBridge } from '../../api/bridge';

export type Loaded<T> =
  { state: 'loading' } | { state: 'ready'; value: T } | { state: 'failed'; message: string };

/** The full flow for `summary`, re-fetched when the summary changes. */
export function useFullFlow(summary: FlowSummary | undefined): Loaded<Flow> | undefined {
  const [loaded, setLoaded] = useState<{ for: FlowSummary; flow: Loaded<Flow> }>();
  useEffect(() => {
    if (!summary) return;
    let live = true;
    getBridge()
      .flows.get(summary.id)
      .then(
        (flow) => live && setLoaded({ for: summary, flow: { state: 'ready', value: flow } }),
        (err: { message?: string }) =>
          live &&
          setLoaded({
            for: summary,
            flow: { state: 'failed', message: err?.message ?? 'the flow could not be read' },
          }),
      );
    return () => {
      live = false;
    };
  }, [summary]);
  if (!summary) return undefined;
  // While a newer summary's fetch runs, keep showing the last full flow of the same id.
  if (loaded && loaded.flow.state === 'ready' && loaded.flow.value.id === summary.id) {
    return loaded.flow;
  }
  if (loaded?.for === summary) return loaded.flow;
  return { state: 'loading' };
}

/** Bytes the first load and each "Load more" add. */
export const PART = 1024 * 1024;
/**
 * Bytes per `bodyPart` call. Each reply is one task on the page: the WebSocket receiving ~350 KB
 * of text, its JSON parse, the base64 decode and the copy into the buffer. A 512 KiB part made
 * that task 30-45 ms on this 2-core machine, a 256 KiB one 20-28 ms, for a few more round trips.
 */
const CALL = 256 * 1024;

export interface BodyState {
  /** The bytes loaded so far, from the start of the (decoded) body. */
  bytes: Uint8Array;
  /** Bytes in the whole body as Loupe has it (decoded size when decoded). */
  total: number;
  truncated: boolean;
  decodedFrom?: string;
  decodeError?: string;
  /** A load in flight: bytes loaded of the bytes it aims for. */
  loading?: { target: number };
  error?: string;
}

/** A body read in parts: the first at once, more on request. */
export function useBody(info: BodyInfo | undefined): {
  body: BodyState | undefined;
  load(upTo: number): void;
} {
  const bodyId = info?.bodyId;
  const [body, setBody] = useState<BodyState>();
  // The latest state for the loader's loop (a state updater may run later than it is called).
  const latest = useRef<{ id?: string; body?: BodyState; busy: boolean }>({ busy: false });

  const load = useCallback(
    (upTo: number) => {
      const mine = latest.current;
      if (!bodyId || mine.busy || mine.id !== bodyId) return;
      mine.busy = true;
      const put = (next: BodyState): void => {
        if (latest.current !== mine) return;
        mine.body = next;
        setBody(next);
      };
      void (async () => {
        let bytes = mine.body?.bytes ?? new Uint8Array(0);
        let meta: Omit<BodyState, 'bytes'> | undefined = mine.body;
        if (mine.body) put({ ...mine.body, loading: { target: upTo }, error: undefined });
        // One buffer for the whole load, filled in place; each state gets a new view of it.
        let buffer = new Uint8Array(bytes.buffer, bytes.byteOffset);
        try {
          while (bytes.length < upTo && (meta === undefined || bytes.length < meta.total)) {
            const part = await getBridge().flows.bodyPart(bodyId, {
              offset: bytes.length,
              length: Math.min(CALL, upTo - bytes.length),
              decoded: true,
            });
            if (latest.current !== mine) return;
            const chunk = fromBase64(part.base64);
            const need = bytes.length + chunk.length;
            if (buffer.length < need) {
              const grown = new Uint8Array(Math.max(need, Math.min(upTo, part.total)));
              grown.set(bytes);
              buffer = grown;
            }
            buffer.set(chunk, bytes.length);
            bytes = buffer.subarray(0, need);
            meta = {
              total: part.total,
              truncated: part.truncated,
              decodedFrom: part.decodedFrom,
              decodeError: part.decodeError,
            };
            const done = chunk.length === 0 || bytes.length >= Math.min(upTo, part.total);
            put({ bytes, ...meta, loading: done ? undefined : { target: upTo } });
            if (chunk.length === 0) break;
          }
        } catch (err) {
          const message = (err as { message?: string })?.message ?? 'the body could not be read';
          put({ truncated: false, ...meta, total: meta?.total ?? 0, bytes, error: message });
        } finally {
          mine.busy = false;
        }
      })();
    },
    [bodyId],
  );

  useEffect(() => {
    latest.current = { id: bodyId, busy: false };
    setBody(undefined);
    if (bodyId) load(PART);
  }, [bodyId, load]);

  return { body: bodyId ? body : undefined, load };
}
