/**
 * Opens a URL in the user's default browser, where there is one: `open` on macOS, `explorer` on
 * Windows, `xdg-open` on a Linux desktop. The URL is passed as one argument (no shell). Where no
 * browser can be opened (a server, CI, `LOUPE_NO_BROWSER=1`) it says so and does nothing else.
 */
import { execFile } from 'node:child_process';

export function openInBrowser(url: string, say: (line: string) => void): void {
  if (process.env.LOUPE_NO_BROWSER === '1') return;
  const desktop =
    process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!desktop) {
    say('loupe: no desktop session here, so no browser was opened; open the ui URL yourself.');
    return;
  }
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['explorer.exe', [url]]
        : ['xdg-open', [url]];
  const child = execFile(command, args, { timeout: 10_000 }, (err) => {
    // explorer.exe exits 1 even when it opened the page.
    if (err && process.platform !== 'win32') {
      say(
        `loupe: could not open a browser (${err.message.split('\n')[0]}); open the ui URL yourself.`,
      );
    }
  });
  child.unref();
}
