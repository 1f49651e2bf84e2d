import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deadline } from '../test-support/wait';
import { BodyStore } from './body-store';

let root: string;
let dir: string;
const stores: BodyStore[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'loupe-bodies-'));
  dir = join(root, 'bodies');
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

function open(memoryBudget: number, at = dir): BodyStore {
  const store = new BodyStore({ dir: at, memoryBudget });
  stores.push(store);
  return store;
}

/** `n` bytes of a value unique to `seed`, so bodies cannot be mistaken for one another. */
const bytes = (seed: number, n = 400): Buffer => Buffer.alloc(n, seed);

/** Adds a body in two chunks and finishes it. */
function put(store: BodyStore, id: string, body: Buffer): void {
  store.append(id, body.subarray(0, 100));
  store.append(id, body.subarray(100));
  store.finish(id);
}

const files = (): string[] => (existsSync(dir) ? readdirSync(dir) : []);
/** The store once its spill work has finished (it has no more to do past its budget). */
const settled = (store: BodyStore): Promise<void> =>
  deadline(store.settled(), 'the spills to finish');

describe('body store', () => {
  it('keeps bodies within the budget in memory and writes nothing to disk', async () => {
    const store = open(1000);
    put(store, 'a', bytes(1));
    put(store, 'b', bytes(2));
    expect(store.stats()).toEqual({ memoryBytes: 800, diskBytes: 0, count: 2 });
    expect(await store.read('a')).toEqual(bytes(1));
    expect(existsSync(dir)).toBe(false);
  });

  it('spills the oldest finished bodies past the budget and reads all back whole', async () => {
    const store = open(1000);
    for (let i = 0; i < 5; i++) put(store, `b${i}`, bytes(i));
    // Readable at once, while the spill is being written.
    expect(await store.read('b0')).toEqual(bytes(0));
    await settled(store);
    expect(store.stats()).toEqual({ memoryBytes: 800, diskBytes: 1200, count: 5 });
    expect(files()).toHaveLength(3);
    for (let i = 0; i < 5; i++) expect(await store.read(`b${i}`)).toEqual(bytes(i));
  });

  it('keeps spilled bodies private: folder 0700, files 0600', async () => {
    mkdirSync(dir, { mode: 0o755 });
    const store = open(10);
    put(store, 'a', bytes(1));
    await settled(store);
    expect(store.stats().diskBytes).toBe(400);
    if (process.platform !== 'win32') {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, files()[0]!)).mode & 0o777).toBe(0o600);
    }
  });

  it('spills finished bodies before those still arriving', async () => {
    const store = open(250);
    put(store, 'done', bytes(2, 200));
    store.append('open', bytes(1, 100));
    await settled(store);
    expect(store.stats()).toEqual({ memoryBytes: 100, diskBytes: 200, count: 2 });
    store.append('open', bytes(1, 100));
    expect(await store.read('open')).toEqual(bytes(1, 200));
  });

  describe('bodies still arriving', () => {
    /** Chunk `round` of body `body`: its own byte value, so order and mix-ups show. */
    const part = (body: number, round: number): Buffer => Buffer.alloc(100, body * 16 + round);
    const whole = (body: number, rounds: number): Buffer =>
      Buffer.concat(Array.from({ length: rounds }, (_, r) => part(body, r)));

    it('spills unfinished bodies past the budget, appending what arrives later', async () => {
      const store = open(1000);
      const bodies = 12;
      const rounds = 10;
      for (let r = 0; r < rounds; r++) {
        for (let b = 0; b < bodies; b++) store.append(`b${b}`, part(b, r));
        await settled(store);
        expect(store.stats().memoryBytes).toBeLessThanOrEqual(1000);
      }
      expect(store.stats()).toEqual({
        memoryBytes: expect.any(Number) as number,
        diskBytes: bodies * rounds * 100 - store.stats().memoryBytes,
        count: bodies,
      });
      for (let b = 0; b < bodies; b++) expect(await store.read(`b${b}`)).toEqual(whole(b, rounds));
    });

    it('reads a partly spilled body whole and in order while its appends are in flight', async () => {
      const store = open(100);
      for (let r = 0; r < 8; r++) {
        store.append('a', part(1, r));
        // Read before the append reaches the file: the bytes come from the file, then memory.
        expect(await store.read('a')).toEqual(whole(1, r + 1));
      }
      await settled(store);
      expect(store.stats()).toEqual({ memoryBytes: 0, diskBytes: 800, count: 1 });
      expect(files()).toHaveLength(1);
      expect(await store.read('a')).toEqual(whole(1, 8));
    });

    it('writes the rest of a partly spilled body to its one file when it finishes', async () => {
      const store = open(250);
      store.append('a', part(1, 0));
      store.append('b', part(2, 0));
      store.append('c', part(3, 0));
      await settled(store);
      const spilled = store.stats().diskBytes;
      expect(spilled).toBeGreaterThan(0);
      store.append('a', part(1, 1));
      store.finish('a');
      await settled(store);
      expect(store.stats().memoryBytes).toBeLessThanOrEqual(250);
      expect(await store.read('a')).toEqual(whole(1, 2));
      expect(await store.read('b')).toEqual(whole(2, 1));
      expect(await store.read('c')).toEqual(whole(3, 1));
      expect(files().length).toBeLessThanOrEqual(2);
    });

    it('leaves no file behind when a body is deleted while its appends are in flight', async () => {
      const store = open(100);
      for (let r = 0; r < 5; r++) store.append('a', part(1, r));
      await settled(store);
      expect(files()).toHaveLength(1);
      store.append('a', part(1, 5));
      await store.delete('a');
      await settled(store);
      expect(files()).toEqual([]);
      expect(store.stats()).toEqual({ memoryBytes: 0, diskBytes: 0, count: 0 });
      expect(await store.read('a')).toEqual(Buffer.alloc(0));
    });

    it('spills a body of thousands of chunks whole and in order', async () => {
      const store = open(1000);
      const parts = Array.from({ length: 3000 }, (_, i) => Buffer.alloc(7, i % 251));
      for (const p of parts) store.append('a', p);
      store.finish('a');
      await settled(store);
      expect(store.stats()).toEqual({ memoryBytes: 0, diskBytes: 21_000, count: 1 });
      expect(await store.read('a')).toEqual(Buffer.concat(parts));
    });

    it('keeps an unfinished body in memory when the spill folder cannot be made', async () => {
      const blocked = join(root, 'a-file');
      writeFileSync(blocked, 'not a folder');
      const store = open(10, join(blocked, 'bodies'));
      store.append('a', part(1, 0));
      await settled(store);
      store.append('a', part(1, 1));
      await settled(store);
      expect(store.stats()).toEqual({ memoryBytes: 200, diskBytes: 0, count: 1 });
      expect(await store.read('a')).toEqual(whole(1, 2));
    });
  });

  describe('past its budget and slack, with spills held up', () => {
    /** A store whose spill folder cannot be made: every spill fails and bytes stay in memory. */
    function blocked(memoryBudget: number, memorySlack?: number): BodyStore {
      const file = join(root, 'a-file');
      writeFileSync(file, 'not a folder');
      const store = new BodyStore({ dir: join(file, 'bodies'), memoryBudget, memorySlack });
      stores.push(store);
      return store;
    }

    it('cuts bodies still arriving so memory never passes the budget plus the slack', async () => {
      const store = blocked(300, 200);
      const kept: boolean[] = [];
      for (let r = 0; r < 4; r++) {
        for (const id of ['a', 'b']) {
          kept.push(store.append(id, bytes(r, 100)));
          expect(store.stats().memoryBytes).toBeLessThanOrEqual(500);
        }
        await settled(store);
      }
      // a0 b0 a1 b1 a2 kept (500 bytes); b2 is refused, then everything after it.
      expect(kept).toEqual([true, true, true, true, true, false, false, false]);
      expect(store.stats()).toEqual({ memoryBytes: 500, diskBytes: 0, count: 2 });
      expect(await store.read('a')).toEqual(
        Buffer.concat([bytes(0, 100), bytes(1, 100), bytes(2, 100)]),
      );
      expect(await store.read('b')).toEqual(Buffer.concat([bytes(0, 100), bytes(1, 100)]));
    });

    it('lets memory pass the budget by half of it by default, and by at least 16 MiB', () => {
      const oneMiB = Buffer.alloc(1024 * 1024);
      /** How many MiB one body takes before the store refuses it. */
      const taken = (store: BodyStore): number => {
        let n = 0;
        while (store.append('a', oneMiB)) n++;
        return n;
      };
      expect(taken(blocked(64 * oneMiB.length))).toBe(96);
      expect(taken(blocked(oneMiB.length))).toBe(17);
    });

    it('keeps refusing a cut body once memory is free again, and takes new bodies', async () => {
      const store = blocked(100, 100);
      expect(store.append('a', bytes(1, 150))).toBe(true);
      expect(store.append('b', bytes(2, 100))).toBe(false);
      expect(store.append('a', bytes(1, 100))).toBe(false);
      expect(store.has('b')).toBe(false);
      await store.delete('a');
      // A body never resumes after a gap; a new one starts fresh.
      expect(store.append('a', bytes(1, 10))).toBe(true);
      expect(store.append('c', bytes(3, 10))).toBe(true);
      expect(store.stats()).toEqual({ memoryBytes: 20, diskBytes: 0, count: 2 });
    });
  });

  it('refuses to grow a finished body', () => {
    const store = open(1000);
    put(store, 'a', bytes(1));
    expect(() => store.append('a', bytes(1))).toThrow(/finished/);
  });

  it('reads an unknown id as empty', async () => {
    expect(await open(1000).read('nope')).toEqual(Buffer.alloc(0));
  });

  it('removes the file of a deleted body and forgets it', async () => {
    const store = open(10);
    put(store, 'a', bytes(1));
    await settled(store);
    expect(files()).toHaveLength(1);
    await store.delete('a');
    expect(files()).toEqual([]);
    expect(store.stats()).toEqual({ memoryBytes: 0, diskBytes: 0, count: 0 });
    expect(await store.read('a')).toEqual(Buffer.alloc(0));
  });

  it('leaves no file behind when cleared while spills are in flight', async () => {
    const store = open(100);
    for (let i = 0; i < 20; i++) put(store, `b${i}`, bytes(i));
    await store.clear();
    await store.close();
    expect(files()).toEqual([]);
    expect(store.stats()).toEqual({ memoryBytes: 0, diskBytes: 0, count: 0 });
  });

  it('removes every spilled file on clear', async () => {
    const store = open(1000);
    for (let i = 0; i < 10; i++) put(store, `b${i}`, bytes(i));
    await settled(store);
    expect(files().length).toBeGreaterThan(0);
    await store.clear();
    expect(files()).toEqual([]);
    expect(store.stats()).toEqual({ memoryBytes: 0, diskBytes: 0, count: 0 });
  });

  it('keeps bodies in memory when the spill folder cannot be made', async () => {
    const blocked = join(root, 'a-file');
    writeFileSync(blocked, 'not a folder');
    const store = open(10, join(blocked, 'bodies'));
    put(store, 'a', bytes(1));
    put(store, 'b', bytes(2));
    await settled(store);
    expect(store.stats()).toEqual({ memoryBytes: 800, diskBytes: 0, count: 2 });
    expect(await store.read('a')).toEqual(bytes(1));
    expect(await store.read('b')).toEqual(bytes(2));
  });
});
