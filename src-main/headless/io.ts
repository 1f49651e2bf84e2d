/**
 * The standard streams a command reads and writes. The process's own by default; tests pass
 * streams of their own to run a command in-process.
 */
export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** Writes `text` and a newline to `stream`. */
export const writeLine = (stream: NodeJS.WritableStream, text: string): void =>
  void stream.write(`${text}\n`);
