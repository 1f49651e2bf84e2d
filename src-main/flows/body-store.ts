/**
 * Captured bodies, by id, outside the flow objects (flows only name them). Bodies live in memory
 * up to a budget; past it the oldest finished bodies, then the oldest still arriving, are written
 * to files in a private folder of the data directory, one write at a time and with async I/O, so
 * a long session neither grows memory without bound nor stalls traffic on disk writes. A body
 * still arriving once spilled has each later part appended to its file.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateFolder, PRIVATE_FILE_MODE } from '../data/private-folder';

export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;

interface Entry {
  /** The bytes not in the spill file, in order after those that are. */
  chunks: Buffer[];
  bytes: number;
  /** Of `bytes`, how many the spill file holds: its first `onDisk` bytes. */
  onDisk: number;
  finished: boolean;
  /** The spill file, once its first write is complete. */
  file?: string;
  /** A spill write in flight. */
  spilling?: Promise<void>;
  /** A write failed: what is in memory stays there, and is not tried again. */
  stuck?: boolean;
  deleted?: boolean;
}

export interface BodyStoreOptions {
  /** Folder for spilled bodies, e.g. `<dataDir>/bodies`; created with mode 0700 on first use. */
  dir: string;
  /** Bytes kept in memory before bodies spill to disk. */
  memoryBudget?: number;
}

export interface BodyStoreStats {
  memoryBytes: number;
  diskBytes: number;
  count: number;
}

/** Body bytes by id: appended while they stream, read back whole, spilled to disk past a budget. */
export class BodyStore {
  private readonly entries = new Map<string, Entry>();
  /** Finished bodies still in memory, in the order they finished: spilled first. */
  private readonly spillable = new Set<string>();
  /** Bodies still arriving and not yet spilled, oldest first: spilled when no finished is left. */
  private readonly arriving = new Set<string>();
  /** Spilled bodies with bytes in memory since: appended to their files whatever the budget. */
  private readonly tails = new Set<string>();
  private readonly budget: number;
  /** Distinguishes this store's files from any other's in the same folder. */
  private readonly prefix = randomBytes(6).toString('hex');
  private nextFile = 1;
  private memory = 0;
  private disk = 0;
  private dirReady: Promise<void> | undefined;
  private spillLoop: Promise<void> | undefined;

  constructor(private readonly opts: BodyStoreOptions) {
    this.budget = opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
  }

  /** Adds bytes to a body, creating it on first use. The store keeps `chunk` as given. */
  append(id: string, chunk: Buffer): void {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { chunks: [], bytes: 0, onDisk: 0, finished: false };
      this.entries.set(id, entry);
      this.arriving.add(id);
    }
    if (entry.finished) throw new Error(`body ${id} is finished; it cannot grow`);
    entry.chunks.push(chunk);
    entry.bytes += chunk.length;
    this.memory += chunk.length;
    if (entry.file && !entry.stuck) this.tails.add(id);
    this.maybeSpill();
  }

  /** Marks a body complete: it cannot grow any more. */
  finish(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.finished) return;
    entry.finished = true;
    // Not spilled yet: it now waits with the finished bodies, which go first.
    if (this.arriving.delete(id) && entry.bytes > 0) this.spillable.add(id);
    this.maybeSpill();
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * The captured bytes of a body so far: all of them once finished, from its spill file and
   * memory. An unknown (or deleted) id reads as empty.
   */
  async read(id: string): Promise<Buffer> {
    const entry = this.entries.get(id);
    if (!entry) return Buffer.alloc(0);
    // The body as it is now: bytes being written stay in memory until their write completes,
    // and the file may hold more than `onDisk` by the time it is read.
    const onDisk = entry.onDisk;
    const rest = entry.chunks.slice();
    const total = entry.bytes;
    if (!entry.file) return Buffer.concat(rest, total);
    try {
      const head = await readFile(entry.file);
      return Buffer.concat([head.subarray(0, onDisk), ...rest], total);
    } catch (err) {
      if (entry.deleted) return Buffer.alloc(0);
      throw err;
    }
  }

  /** Forgets a body and removes its file, waiting for a spill of it in flight. */
  async delete(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.spillable.delete(id);
    this.arriving.delete(id);
    this.tails.delete(id);
    entry.deleted = true;
    this.disk -= entry.onDisk;
    this.memory -= entry.bytes - entry.onDisk;
    entry.chunks = [];
    // A write in flight sees `deleted` when it completes and removes the file itself.
    await entry.spilling;
    if (entry.file) await rm(entry.file, { force: true });
  }

  /** Forgets every body and removes every spilled file. */
  async clear(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.delete(id)));
  }

  /** Clears the store and waits for spill work in flight, so no file of it stays on disk. */
  async close(): Promise<void> {
    await this.clear();
    await this.settled();
  }

  /**
   * Resolves once no spill is in flight or due: memory is within the budget and what arrived
   * for spilled bodies is in their files, or has failed to be written and stays in memory. At
   * once when there is nothing to spill.
   */
  async settled(): Promise<void> {
    while (this.spillLoop) await this.spillLoop;
  }

  stats(): BodyStoreStats {
    return { memoryBytes: this.memory, diskBytes: this.disk, count: this.entries.size };
  }

  private maybeSpill(): void {
    if (this.spillLoop || this.nextToSpill() === undefined) return;
    this.spillLoop = this.drain().finally(() => {
      this.spillLoop = undefined;
      // Bodies may have grown or finished while the last write was in flight.
      this.maybeSpill();
    });
  }

  /**
   * What to write next: the tail of a spilled body; past the budget, the oldest finished body,
   * else the oldest still arriving.
   */
  private nextToSpill(): string | undefined {
    const first = (set: Set<string>): string | undefined => set.values().next().value;
    const tail = first(this.tails);
    if (tail !== undefined || this.memory <= this.budget) return tail;
    return first(this.spillable) ?? first(this.arriving);
  }

  /** Writes bodies out, one write at a time, until no tail is left and memory is within budget. */
  private async drain(): Promise<void> {
    for (let id = this.nextToSpill(); id !== undefined; id = this.nextToSpill()) {
      this.tails.delete(id);
      this.spillable.delete(id);
      this.arriving.delete(id);
      const entry = this.entries.get(id);
      if (entry) await this.spill(id, entry);
    }
  }

  /** Writes what `entry` holds in memory to its file, the first write creating it. */
  private async spill(id: string, entry: Entry): Promise<void> {
    const first = entry.file === undefined;
    const file = entry.file ?? join(this.opts.dir, `${this.prefix}-${this.nextFile++}.body`);
    // More may arrive during the write; those bytes wait for the next one.
    const chunks = entry.chunks.slice();
    const size = entry.bytes - entry.onDisk;
    entry.spilling = (async () => {
      try {
        if (first) await this.makeDir();
        // 'wx' first: a fresh file of our own, never one planted under the same name.
        await writeAll(file, first ? 'wx' : 'a', chunks, size);
      } catch (err) {
        // Disk full or folder unwritable: the bytes stay in memory rather than being lost, and
        // are not tried again. A partial first file goes; a file that was there before is not
        // ours. A failed append may leave bytes past `onDisk`, which reads ignore.
        entry.stuck = true;
        if (first && (err as NodeJS.ErrnoException).code !== 'EEXIST') await discard(file);
        return;
      }
      if (entry.deleted) {
        await discard(file);
        return;
      }
      // Only now may the memory copy go: reads until this point were served from memory.
      entry.file = file;
      entry.chunks.splice(0, chunks.length);
      entry.onDisk += size;
      this.memory -= size;
      this.disk += size;
      if (entry.chunks.length > 0) this.tails.add(id);
    })();
    await entry.spilling;
    entry.spilling = undefined;
  }

  /** Creates the folder once; a failure is forgotten so that the next spill tries again. */
  private makeDir(): Promise<void> {
    this.dirReady ??= ensurePrivateFolder(this.opts.dir).catch((err: unknown) => {
      this.dirReady = undefined;
      throw err;
    });
    return this.dirReady;
  }
}

/**
 * Writes `chunks` (`size` bytes) to `file` opened with `flag`, private, in one call: a body is
 * thousands of socket-sized chunks, and a write each would wait for the busy event loop between
 * them while traffic fills memory faster than they drain it.
 */
async function writeAll(
  file: string,
  flag: 'wx' | 'a',
  chunks: Buffer[],
  size: number,
): Promise<void> {
  const handle = await open(file, flag, PRIVATE_FILE_MODE);
  try {
    const { bytesWritten } = await handle.writev(chunks);
    if (bytesWritten !== size) {
      throw Object.assign(new Error(`wrote ${bytesWritten} of ${size} bytes`), { code: 'EIO' });
    }
  } finally {
    await handle.close();
  }
}

/** Removes a file this store wrote, as cleanup on a path that has already failed: never throws. */
async function discard(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => undefined);
}
