/**
 * Captured bodies, by id, outside the flow objects. Bodies live in memory up to a budget; past it
 * the oldest finished bodies are spilled to files in the data directory, so a long session does
 * not grow memory without bound.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface Entry {
  chunks: Buffer[];
  bytes: number;
  finished: boolean;
  /** Set once written to disk; chunks are dropped after the write completes. */
  file?: string;
  spilling?: Promise<void>;
}

export interface BodyStoreOptions {
  /** Folder for spilled bodies (created 0700 on first spill). */
  dir: string;
  /** Bytes kept in memory before spilling; default 256 MiB. */
  memoryBudget?: number;
}

export class BodyStore {
  private readonly entries = new Map<string, Entry>();
  private memory = 0;
  private disk = 0;
  private nextFile = 1;
  private dirReady: Promise<unknown> | undefined;
  private readonly budget: number;

  constructor(private readonly opts: BodyStoreOptions) {
    this.budget = opts.memoryBudget ?? 256 * 1024 * 1024;
  }

  append(id: string, chunk: Buffer): void {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { chunks: [], bytes: 0, finished: false };
      this.entries.set(id, entry);
    }
    entry.chunks.push(chunk);
    entry.bytes += chunk.length;
    this.memory += chunk.length;
  }

  /** Marks a body complete; it may now be spilled. */
  finish(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.finished = true;
    if (this.memory > this.budget) this.spill();
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** The captured bytes of a body (empty when unknown). */
  async read(id: string): Promise<Buffer> {
    const entry = this.entries.get(id);
    if (!entry) return Buffer.alloc(0);
    if (entry.chunks.length || !entry.file) return Buffer.concat(entry.chunks, entry.bytes);
    return readFile(entry.file);
  }

  async delete(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    await entry.spilling;
    if (entry.file) {
      this.disk -= entry.bytes;
      await rm(entry.file, { force: true });
    } else {
      this.memory -= entry.bytes;
    }
  }

  async clear(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.delete(id)));
  }

  /** Removes every body, including spilled files. */
  async close(): Promise<void> {
    await this.clear();
  }

  stats(): { memoryBytes: number; diskBytes: number; count: number } {
    return { memoryBytes: this.memory, diskBytes: this.disk, count: this.entries.size };
  }

  /** Writes the oldest finished in-memory bodies to disk until memory is within budget. */
  private spill(): void {
    let excess = this.memory - this.budget;
    for (const [, entry] of this.entries) {
      if (excess <= 0) break;
      if (!entry.finished || entry.file || entry.bytes === 0) continue;
      excess -= entry.bytes;
      const file = join(this.opts.dir, `body-${process.pid}-${this.nextFile++}`);
      entry.file = file;
      const data = Buffer.concat(entry.chunks, entry.bytes);
      this.dirReady ??= mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
      entry.spilling = this.dirReady
        .then(() => writeFile(file, data, { mode: 0o600 }))
        .then(
          () => {
            // Only now may the memory copy go: a read during the write is served from memory.
            entry.chunks = [];
            this.memory -= entry.bytes;
            this.disk += entry.bytes;
          },
          () => {
            // The disk is full or unwritable: keep the body in memory rather than lose it.
            entry.file = undefined;
          },
        );
    }
  }
}
