/**
 * Captured bodies, by id, outside the flow objects (flows only name them). Bodies live in memory
 * up to a budget; past it the oldest finished bodies, then the oldest still arriving, are written
 * to files in a private folder of the data directory with async I/O, so a long session neither
 * grows memory without bound nor stalls traffic on disk writes. A body still arriving once
 * spilled has what arrives later appended to its file, through a handle kept open for it.
 *
 * Bodies can arrive faster than a busy event loop completes writes, so several bodies are
 * written at once, each write taking all of a body's bytes that arrived since its last one. When
 * that is still not enough and memory passes the budget by a slack, the store keeps no more bytes
 * of bodies still arriving: `append` says so, and the caller marks the body cut.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateFolder, PRIVATE_FILE_MODE } from '../data/private-folder';

export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;
/** The least slack over the budget: a few busy turns of writes lagging fast loopback traffic. */
const MIN_SLACK = 16 * 1024 * 1024;
/**
 * Writes in flight at once. A busy loop completes I/O once per turn, and a turn can bring a few
 * MiB for each of dozens of streams: one write per stream per turn is what keeps up.
 */
const WRITERS = 32;
/** Spill files kept open for appends; past it the least recently written is closed. */
const OPEN_FILES = 64;

interface Entry {
  /** The bytes not in the spill file, in order after those that are. */
  chunks: Buffer[];
  bytes: number;
  /** Of `bytes`, how many the spill file holds: its first `onDisk` bytes. */
  onDisk: number;
  finished: boolean;
  /** The spill file's name, chosen at its first write. */
  path?: string;
  /** The spill file, once its first write is complete. */
  file?: string;
  /** Open for appends while the body may grow (closed past OPEN_FILES, reopened when needed). */
  handle?: FileHandle;
  /** A spill write in flight: at most one per body, so its bytes land in order. */
  writing?: Promise<void>;
  /** A write failed: what is in memory stays there, and is not tried again. */
  stuck?: boolean;
  /** Refused a chunk past the memory ceiling: it takes no more bytes. */
  cut?: boolean;
  deleted?: boolean;
}

export interface BodyStoreOptions {
  /** Folder for spilled bodies, e.g. `<dataDir>/bodies`; created with mode 0700 on first use. */
  dir: string;
  /** Bytes kept in memory before bodies spill to disk. */
  memoryBudget?: number;
  /**
   * Bytes memory may pass the budget by while spills catch up; past it, bodies still arriving
   * are cut. Default: half the budget, at least 16 MiB.
   */
  memorySlack?: number;
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
  /** Bodies with an open spill file, least recently written first. */
  private readonly handles = new Map<string, Entry>();
  private readonly budget: number;
  private readonly ceiling: number;
  /** Distinguishes this store's files from any other's in the same folder. */
  private readonly prefix = randomBytes(6).toString('hex');
  private nextFile = 1;
  private memory = 0;
  /** Of `memory`, the bytes being written now. */
  private writing = 0;
  private writers = 0;
  private disk = 0;
  private dirReady: Promise<void> | undefined;
  /** Spills are started once per turn, so that each takes every chunk the turn brought. */
  private pumpQueued = false;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly opts: BodyStoreOptions) {
    this.budget = opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
    this.ceiling = this.budget + (opts.memorySlack ?? Math.max(this.budget / 2, MIN_SLACK));
  }

  /**
   * Adds bytes to a body, creating it on first use; the store keeps `chunk` as given. False when
   * the store keeps it not: memory is past the budget and its slack (spills cannot keep up), or
   * the body was refused before. The body keeps what it had and takes nothing more, so the
   * caller should stop appending to it and report it cut (a refused new body is not created).
   */
  append(id: string, chunk: Buffer): boolean {
    let entry = this.entries.get(id);
    if (entry?.finished) throw new Error(`body ${id} is finished; it cannot grow`);
    if (entry?.cut) return false;
    if (this.memory + chunk.length > this.ceiling) {
      if (entry) entry.cut = true;
      return false;
    }
    if (!entry) {
      entry = { chunks: [], bytes: 0, onDisk: 0, finished: false };
      this.entries.set(id, entry);
      this.arriving.add(id);
    }
    entry.chunks.push(chunk);
    entry.bytes += chunk.length;
    this.memory += chunk.length;
    // A body being written goes back to `tails` when its write completes.
    if (entry.file && !entry.stuck && !entry.writing) this.tails.add(id);
    this.schedule();
    return true;
  }

  /** Marks a body complete: it cannot grow any more. */
  finish(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.finished) return;
    entry.finished = true;
    // Not spilled yet: it now waits with the finished bodies, which go first.
    if (this.arriving.delete(id) && entry.bytes > 0) this.spillable.add(id);
    if (!entry.writing && entry.chunks.length === 0) void this.closeHandle(id, entry);
    this.schedule();
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
    await entry.writing;
    await this.closeHandle(id, entry);
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
    while (this.writers > 0 || this.pumpQueued) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
  }

  stats(): BodyStoreStats {
    return { memoryBytes: this.memory, diskBytes: this.disk, count: this.entries.size };
  }

  private schedule(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Starts writes while some are due and fewer than WRITERS are in flight. */
  private pump(): void {
    for (let id = this.nextToSpill(); id !== undefined; id = this.nextToSpill()) {
      this.tails.delete(id);
      this.spillable.delete(id);
      this.arriving.delete(id);
      const entry = this.entries.get(id);
      if (entry) void this.spill(id, entry);
    }
    if (this.writers === 0 && !this.pumpQueued) for (const wake of this.idle.splice(0)) wake();
  }

  /**
   * What to write next: past the budget (counting bytes being written as gone), the oldest
   * finished body, else the oldest still arriving, else the tail of a spilled body; within it,
   * only tails.
   */
  private nextToSpill(): string | undefined {
    if (this.writers >= WRITERS) return undefined;
    const first = (set: Set<string>): string | undefined => set.values().next().value;
    const over = this.memory - this.writing > this.budget;
    return (
      (over ? (first(this.spillable) ?? first(this.arriving)) : undefined) ?? first(this.tails)
    );
  }

  /** Writes what `entry` holds in memory to its file, the first write creating it. */
  private async spill(id: string, entry: Entry): Promise<void> {
    // More may arrive during the write; those bytes wait for the next one.
    const chunks = entry.chunks.slice();
    const size = entry.bytes - entry.onDisk;
    this.writers++;
    this.writing += size;
    entry.writing = this.write(id, entry, chunks, size);
    await entry.writing;
    entry.writing = undefined;
    this.writers--;
    this.writing -= size;
    this.pump();
  }

  private async write(id: string, entry: Entry, chunks: Buffer[], size: number): Promise<void> {
    try {
      const handle = await this.handleFor(id, entry);
      const { bytesWritten } = await handle.writev(chunks);
      if (bytesWritten !== size) {
        throw Object.assign(new Error(`wrote ${bytesWritten} of ${size} bytes`), { code: 'EIO' });
      }
    } catch (err) {
      // Disk full or folder unwritable: the bytes stay in memory rather than being lost, and
      // are not tried again. A partial first file goes; a file that was there before is not
      // ours. A failed append may leave bytes past `onDisk`, which reads ignore.
      entry.stuck = true;
      await this.closeHandle(id, entry);
      const planted = (err as NodeJS.ErrnoException).code === 'EEXIST';
      if (!entry.file && entry.path && !planted) await discard(entry.path);
      return;
    }
    if (entry.deleted) {
      await this.closeHandle(id, entry);
      if (entry.path) await discard(entry.path);
      return;
    }
    // Only now may the memory copy go: reads until this point were served from memory.
    entry.file = entry.path;
    entry.chunks.splice(0, chunks.length);
    entry.onDisk += size;
    this.memory -= size;
    this.disk += size;
    if (entry.chunks.length > 0) this.tails.add(id);
    else if (entry.finished) await this.closeHandle(id, entry);
  }

  /** The body's open spill file, opening it ('wx' the first time: a fresh file of our own). */
  private async handleFor(id: string, entry: Entry): Promise<FileHandle> {
    this.handles.delete(id);
    if (!entry.handle) {
      if (entry.path === undefined) {
        await this.makeDir();
        entry.path = join(this.opts.dir, `${this.prefix}-${this.nextFile++}.body`);
      }
      const flag = entry.file ? 'a' : 'wx';
      entry.handle = await open(entry.path, flag, PRIVATE_FILE_MODE);
      this.closeLeastRecent();
    }
    this.handles.set(id, entry);
    return entry.handle;
  }

  /** Keeps at most OPEN_FILES spill files open, closing those written least recently. */
  private closeLeastRecent(): void {
    for (const [id, entry] of this.handles) {
      if (this.handles.size < OPEN_FILES) return;
      if (!entry.writing) void this.closeHandle(id, entry);
    }
  }

  private async closeHandle(id: string, entry: Entry): Promise<void> {
    const handle = entry.handle;
    entry.handle = undefined;
    this.handles.delete(id);
    await handle?.close().catch(() => undefined);
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
