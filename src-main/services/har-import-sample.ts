/**
 * A large generated HAR for the import tests and bench/har-import.ts: the shape of a browser's
 * export of a busy page (Safari's, with an empty serverIPAddress), most bodies small JSON.
 */

/**
 * A HAR of `entries` small exchanges (as a browser's export of a busy page), every 20th with a
 * base64 image body: about 1.2 KB an entry (80,000 entries are 92 MB).
 */
export function bigHar(entries: number): string {
  const png = Buffer.alloc(3000, 7).toString('base64');
  const parts: string[] = [];
  const start = Date.parse('2026-11-30T10:00:00Z');
  for (let i = 0; i < entries; i++) {
    const image = i % 20 === 0;
    const body = image
      ? { size: 3000, mimeType: 'image/png', text: png, encoding: 'base64' }
      : {
          size: 120,
          mimeType: 'application/json',
          text: JSON.stringify({ n: i, items: [1, 2, 3], name: 'item '.repeat(16) }),
        };
    parts.push(
      JSON.stringify({
        startedDateTime: new Date(start + i).toISOString(),
        time: 12.5,
        request: {
          method: 'GET',
          url: `https://api.example.test/items/${i}?page=${i % 7}`,
          httpVersion: 'HTTP/1.1',
          headers: [
            { name: 'Host', value: 'api.example.test' },
            { name: 'Accept', value: 'application/json' },
            {
              name: 'User-Agent',
              value: 'Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Safari/605.1.15',
            },
          ],
          queryString: [{ name: 'page', value: String(i % 7) }],
          cookies: [],
          headersSize: -1,
          bodySize: 0,
        },
        response: {
          status: 200,
          statusText: 'OK',
          httpVersion: 'HTTP/1.1',
          headers: [
            { name: 'Content-Type', value: body.mimeType },
            { name: 'Cache-Control', value: 'no-store' },
          ],
          cookies: [],
          content: body,
          redirectURL: '',
          headersSize: -1,
          bodySize: body.size,
        },
        cache: {},
        timings: { blocked: 0.1, dns: -1, connect: -1, ssl: -1, send: 0.2, wait: 10, receive: 2.2 },
        serverIPAddress: '',
        connection: String(i % 6),
      }),
    );
  }
  return `{"log":{"version":"1.2","creator":{"name":"WebKit Web Inspector","version":"1.0"},"pages":[],"entries":[${parts.join(',')}]}}`;
}
