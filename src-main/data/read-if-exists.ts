import { readFile } from 'node:fs/promises';

/**
 * The text of `path` (UTF-8), or undefined when there is no such file. Any other failure
 * (permissions, a folder in its place) throws: only absence is an expected answer.
 */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
