/**
 * Captured bodies, by id, outside the flow objects (flows only name them). Bodies live in memory
 * up to a budget; past it the oldest finished bodies are written to files in a private folder
 * of the data directory, one at a time and with async I/O, so a long session neither grows
 * memory without bound nor stalls traffic on disk writes.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateFolder, PRIVATE_FILE_MODE } from '../data/private-folder';

export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;

interface Entry {
  /** The bytes while in memory; emptied in the same tick `file` is set. */
  chunks: Buffer[];
  bytes: number;
  finished: boolean;
  /** The spill file, once completely written. */
  file?: string;
  /** A spill write in flight. */
  spilling?: Promise<void>;
  deleted?: boolean;
}

export interface BodyStoreOptions {
  /** Folder for spilled bodies, e.g. `<dataDir>/bodies`; created with mode 0700 on first use. */
  dir: string;
  /** Bytes kept in memory before the oldest finished bodies spill to disk. */
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
  /** Finished bodies still in memory, in the order they finished: the spill queue. */
  private readonly spillable = new Set<string>();
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
      entry = { chunks: [], bytes: 0, finished: false };
      this.entries.set(id, entry);
    }
    if (entry.finished) throw new Error(`body ${id} is finished; it cannot grow`);
    entry.chunks.push(chunk);
    entry.bytes += chunk.length;
    this.memory += chunk.length;
    this.maybeSpill();
  }

  /** Marks a body complete. Only complete bodies spill: a file is written once, never appended. */
  finish(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.finished) return;
    entry.finished = true;
    if (entry.bytes > 0) this.spillable.add(id);
    this.maybeSpill();
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * The captured bytes of a body so far: all of them once finished, from memory or from its
   * spill file. An unknown (or deleted) id reads as empty.
   */
  async read(id: string): Promise<Buffer> {
    const entry = this.entries.get(id);
    if (!entry) return Buffer.alloc(0);
    // A body being spilled is still whole in memory until its file is complete.
    if (!entry.file) return Buffer.concat(entry.chunks, entry.bytes);
    try {
      return await readFile(entry.file);
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
    entry.deleted = true;
    if (entry.file) {
      this.disk -= entry.bytes;
      await rm(entry.file, { force: true });
    } else {
      this.memory -= entry.bytes;
      entry.chunks = [];
      // The spill sees `deleted` when its write completes and removes the file itself.
      await entry.spilling;
    }
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
   * Resolves once no spill is in flight or due: every body past the budget has been written
   * out, or has failed to be and stays in memory. At once when there is nothing to spill.
   */
  async settled(): Promise<void> {
    while (this.spillLoop) await this.spillLoop;
  }

  stats(): BodyStoreStats {
    return { memoryBytes: this.memory, diskBytes: this.disk, count: this.entries.size };
  }

  private maybeSpill(): void {
    if (this.spillLoop || this.memory <= this.budget || this.spillable.size === 0) return;
    this.spillLoop = this.drain().finally(() => {
      this.spillLoop = undefined;
      // Bodies may have finished while the last write was in flight.
      this.maybeSpill();
    });
  }

  /** Spills the oldest finished bodies, one write at a time, until memory is within budget. */
  private async drain(): Promise<void> {
    while (this.memory > this.budget) {
      const id = this.spillable.values().next().value;
      if (id === undefined) return;
      this.spillable.delete(id);
      const entry = this.entries.get(id);
      if (entry) await this.spill(entry);
    }
  }

  private async spill(entry: Entry): Promise<void> {
    const file = join(this.opts.dir, `${this.prefix}-${this.nextFile++}.body`);
    const chunks = entry.chunks;
    entry.spilling = (async () => {
      try {
        await this.makeDir();
        // 'wx': a fresh file of our own, never one planted under the same name.
        await writeFile(file, chunks, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
      } catch (err) {
        // Disk full or folder unwritable: the body stays in memory rather than being lost, and
        // is not tried again. A partial file goes; a file that was there before is not ours.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await discard(file);
        return;
      }
      if (entry.deleted) {
        await discard(file);
        return;
      }
      // Only now may the memory copy go: reads until this point were served from memory.
      entry.file = file;
      entry.chunks = [];
      this.memory -= entry.bytes;
      this.disk += entry.bytes;
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

/** Removes a file this store wrote, as cleanup on a path that has already failed: never throws. */
async function discard(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => undefined);
}
