/**
 * The web-standard globals that both Node and the renderer provide. src-common is compiled with
 * `types: []` and `lib: ["ES2022"]` so that nothing Node- or DOM-specific can creep in; these are
 * the only runtime globals it may use.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
declare class URL {
  constructor(input: string, base?: string);
  hash: string;
  host: string;
  hostname: string;
  href: string;
  readonly origin: string;
  password: string;
  pathname: string;
  port: string;
  protocol: string;
  search: string;
  readonly searchParams: URLSearchParams;
  username: string;
  toString(): string;
}
declare class URLSearchParams {
  constructor(init?: string);
  forEach(callback: (value: string, key: string) => void): void;
  get(name: string): string | null;
}
declare function atob(data: string): string;
declare function btoa(data: string): string;
declare const console: {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
