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

  it('never spills a body that is still arriving', async () => {
    const store = open(10);
    store.append('open', bytes(1, 100));
    put(store, 'done', bytes(2, 200));
    await settled(store);
    expect(store.stats().diskBytes).toBe(200);
    expect(store.stats().memoryBytes).toBe(100);
    store.append('open', bytes(1, 100));
    expect(await store.read('open')).toEqual(bytes(1, 200));
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
