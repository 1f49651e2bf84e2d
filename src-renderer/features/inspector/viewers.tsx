/**
 * The body viewers: JSON (foldable pretty lines), text and HTML/XML source (escaped text, never
 * rendered), hex, image (an `<img>` from a data: URL, SVG included, so nothing in it runs),
 * form data, each windowed so a large body costs only its visible rows.
 */
import { useMemo, useState } from 'react';
import type { HeaderPair } from '../../../src-common/flow';
import { formatBytes } from '../../../src-common/flow-view';
import {
  parseMultipart,
  parseUrlEncoded,
  type MultipartPart,
} from '../../../src-common/inspect/form';
import { HEX_ROW_BYTES, hexRow, hexRowCount } from '../../../src-common/inspect/hex';
import { decodeText, toBase64 } from '../../../src-common/inspect/text';
import { looksLikeText, parseContentType } from '../../../src-common/inspect/viewer';
import { docSlice, type Doc, type JsonResult, type TextResult } from './format-jobs';
import { PairTable } from './PairTable';
import { Windowed } from './Windowed';

export const LINE_HEIGHT = 18;
/** Characters of one line put in the DOM; the rest is there for copying, not for layout. */
const MAX_LINE_CHARS = 4000;

function lineOf(text: Doc, bounds: Uint32Array, i: number): string {
  const start = bounds[2 * i]!;
  const end = bounds[2 * i + 1]!;
  if (end - start <= MAX_LINE_CHARS) return docSlice(text, start, end);
  return `${docSlice(text, start, start + MAX_LINE_CHARS)} … (${end - start - MAX_LINE_CHARS} more characters)`;
}

export function TextLines({
  result,
  viewer,
}: {
  result: TextResult;
  viewer: 'text' | 'html' | 'raw';
}) {
  const count = result.bounds.length / 2;
  return (
    <Windowed
      className="code"
      count={count}
      rowHeight={LINE_HEIGHT}
      label={`${count} lines`}
      row={(i) => <span className="code-line">{lineOf(result.text, result.bounds, i)}</span>}
      testId={`${viewer}-lines`}
    />
  );
}

/** A JSON line in colours: its key, then a string, number or literal value. */
function JsonText({ text }: { text: string }) {
  const m = /^(\s*)("(?:[^"\\]|\\.)*": )?(.*)$/.exec(text)!;
  const value = m[3]!;
  const kind = value.startsWith('"')
    ? 'j-str'
    : /^-?\d/.test(value)
      ? 'j-num'
      : /^(true|false|null)/.test(value)
        ? 'j-lit'
        : 'j-punct';
  return (
    <>
      {m[1]}
      {m[2] && <span className="j-key">{m[2]}</span>}
      <span className={kind}>{value}</span>
    </>
  );
}

export function JsonTree({ result }: { result: JsonResult }) {
  const [folded, setFolded] = useState<ReadonlySet<number>>(() => new Set());
  const lineCount = result.end.length;
  // Unfolded, line v is line v: no million-entry index array to build.
  const visible = useMemo(() => {
    if (folded.size === 0) return undefined;
    const out: number[] = [];
    for (let i = 0; i < lineCount; i++) {
      out.push(i);
      if (folded.has(i) && result.end[i]! >= 0) i = result.end[i]!;
    }
    return out;
  }, [folded, lineCount, result]);
  const toggle = (i: number) =>
    setFolded((f) => {
      const next = new Set(f);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      return next;
    });
  const foldAll = () => {
    const next = new Set<number>();
    for (let i = 1; i < lineCount; i++) if (result.end[i]! >= 0) next.add(i);
    setFolded(next);
  };
  return (
    <div className="json-view">
      <div className="json-tools">
        <button type="button" className="mini" onClick={foldAll}>
          Collapse all
        </button>
        <button type="button" className="mini" onClick={() => setFolded(new Set())}>
          Expand all
        </button>
        <span className="muted">{lineCount.toLocaleString()} lines</span>
      </div>
      <Windowed
        className="code"
        count={visible ? visible.length : lineCount}
        rowHeight={LINE_HEIGHT}
        label="JSON"
        testId="json-lines"
        row={(v) => {
          const i = visible ? visible[v]! : v;
          const end = result.end[i]!;
          let text = lineOf(result.text, result.bounds, i);
          const isFolded = end >= 0 && folded.has(i);
          if (isFolded) {
            const n = result.count[i]!;
            const brace = text.endsWith('{');
            const closing = lineOf(result.text, result.bounds, end);
            text = `${text.slice(0, -1)}${brace ? '{…}' : '[…]'} ${n} ${brace ? (n === 1 ? 'key' : 'keys') : n === 1 ? 'item' : 'items'}${closing.endsWith(',') ? ',' : ''}`;
          }
          return (
            <span className="code-line json-line" data-line={i}>
              {end >= 0 ? (
                <button
                  type="button"
                  className="json-toggle"
                  data-testid="json-toggle"
                  aria-expanded={!isFolded}
                  aria-label={isFolded ? 'Expand' : 'Collapse'}
                  onClick={() => toggle(i)}
                >
                  {isFolded ? '▸' : '▾'}
                </button>
              ) : (
                <span className="json-toggle-space" />
              )}
              <JsonText text={text} />
            </span>
          );
        }}
      />
    </div>
  );
}

export function HexView({ bytes }: { bytes: Uint8Array }) {
  return (
    <Windowed
      className="code hex"
      count={hexRowCount(bytes.length)}
      rowHeight={LINE_HEIGHT}
      label={`${bytes.length} bytes as hex`}
      testId="hex-lines"
      row={(r) => {
        const row = hexRow(bytes, r);
        return (
          <span className="code-line" data-testid="hex-row" data-offset={r * HEX_ROW_BYTES}>
            <span className="hex-offset">{row.offset}</span>
            <span className="hex-bytes">{row.hex}</span>
            <span className="hex-ascii">{row.ascii}</span>
          </span>
        );
      }}
    />
  );
}

export function ImageView({ bytes, contentType }: { bytes: Uint8Array; contentType?: string }) {
  const type = parseContentType(contentType).type || 'image/png';
  const src = useMemo(() => `data:${type};base64,${toBase64(bytes)}`, [bytes, type]);
  // Keyed by the URL it describes: a data: URL can load before an effect could reset it.
  const [loaded, setLoaded] = useState<{
    src: string;
    size: { w: number; h: number } | 'broken';
  }>();
  const state = loaded?.src === src ? loaded.size : undefined;
  return (
    <div className="image-view">
      {state === 'broken' ? (
        <p className="inspector-note">
          These bytes are not an image this browser can show ({type}). Try the Hex view.
        </p>
      ) : (
        <p className="muted">
          {type}
          {state && ` · ${state.w} × ${state.h}`} · {formatBytes(bytes.length)}
        </p>
      )}
      <img
        src={src}
        alt="The body as an image"
        data-testid="image-body"
        onLoad={(e) =>
          setLoaded({
            src,
            size: { w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight },
          })
        }
        onError={() => setLoaded({ src, size: 'broken' })}
      />
    </div>
  );
}

function partPreview(bytes: Uint8Array, part: MultipartPart): string {
  const body = bytes.subarray(part.offset, part.offset + Math.min(part.length, 300));
  if (!looksLikeText(body)) return `${formatBytes(part.length)} of binary data`;
  const text = decodeText(body, undefined, true).text;
  return part.length > 300 ? `${text}…` : text;
}

export function FormView({ bytes, contentType }: { bytes: Uint8Array; contentType?: string }) {
  const ct = parseContentType(contentType);
  const parsed = useMemo(() => {
    if (ct.type === 'multipart/form-data') {
      return { multipart: parseMultipart(bytes, ct.params.boundary ?? '') };
    }
    return { pairs: parseUrlEncoded(decodeText(bytes).text.trim()) };
  }, [bytes, ct.type, ct.params.boundary]);
  if (parsed.pairs) {
    return <PairTable pairs={parsed.pairs} empty="The form has no fields." testId="form-field" />;
  }
  const result = parsed.multipart!;
  if (!result.ok)
    return <p className="inspector-note">Not readable as multipart: {result.error}.</p>;
  return (
    <div className="form-parts">
      {!result.complete && (
        <p className="inspector-note">
          The body ends before the closing boundary: the last part may be cut.
        </p>
      )}
      {result.parts.map((part, i) => (
        <section key={i} className="form-part" data-testid="form-part">
          <h4>
            {part.name ?? `(part ${i + 1})`}
            {part.filename && <span className="muted"> · file “{part.filename}”</span>}
            <span className="muted">
              {' '}
              · {part.contentType ?? 'text'} · {formatBytes(part.length)}
            </span>
          </h4>
          <pre className="code-block">{partPreview(bytes, part)}</pre>
          <PairTable pairs={part.headers as HeaderPair[]} empty="" compact />
        </section>
      ))}
    </div>
  );
}
