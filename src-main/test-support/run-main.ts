/**
 * `loupe ARGS` run in this process, for tests whose subject is the arguments and the output: a
 * process per command only costs start-up. Apart from headless.ts so that suites which only spawn
 * the command do not load the engine.
 */
import { Readable, Writable } from 'node:stream';
import { main } from '../headless/main';
import type { LoupeResult } from './headless';

/** A stream that keeps what is written to it; written synchronously, so complete on return. */
function collector(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/**
 * main(ARGS) with streams of its own and no terminal. Not for `headless`, whose proxy prints to
 * this process's streams and waits for its signals.
 */
export async function runMain(args: string[]): Promise<LoupeResult> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, {
    stdin: Readable.from([]),
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
