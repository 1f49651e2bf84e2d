import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { choosePort, isPortFree, parsePortEnv, PREFERRED_PORT, savedPort } from './port';

describe('parsePortEnv', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['8888', 8888],
    ['65535', 65535],
  ])('%j is %j', (value, port) => {
    expect(parsePortEnv(value)).toBe(port);
  });

  it.each(['65536', '-1', '80a', '1e3', ' 80', '0x50'])('%j is refused in words', (value) => {
    const result = parsePortEnv(value);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/is not a port/);
  });
});

describe('choosePort', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  const occupy = async (): Promise<number> => {
    server = createServer();
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    return (server.address() as { port: number }).port;
  };

  it('obeys an explicit port, even a taken one (the proxy then says it is in use)', async () => {
    const taken = await occupy();
    expect(await choosePort('127.0.0.1', taken, 1)).toEqual({ port: taken });
  });

  it('uses the preferred port when it is free', async () => {
    const port = await occupy();
    await new Promise<void>((done) => server!.close(() => done()));
    server = undefined;
    expect(await isPortFree('127.0.0.1', port)).toBe(true);
    expect(await choosePort('127.0.0.1', undefined, port)).toEqual({ port });
  });

  it('falls back to a free port when the preferred one is taken, and says which', async () => {
    const taken = await occupy();
    expect(await isPortFree('127.0.0.1', taken)).toBe(false);
    expect(await choosePort('127.0.0.1', undefined, taken)).toEqual({ port: 0, takenPort: taken });
  });
});

describe('savedPort', () => {
  let dir: string;
  beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'loupe-port-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is the port saved in Preferences', async () => {
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ version: 1, proxyPort: 9191 }));
    expect(await savedPort(dir)).toBe(9191);
  });

  it('is 8888 without a settings file, or with one that cannot be used (left untouched)', async () => {
    expect(await savedPort(dir)).toBe(PREFERRED_PORT);
    await writeFile(join(dir, 'settings.json'), '{ not json');
    expect(await savedPort(dir)).toBe(PREFERRED_PORT);
    expect(await readFile(join(dir, 'settings.json'), 'utf8')).toBe('{ not json');
  });
});
