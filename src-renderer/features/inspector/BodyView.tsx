/**
 * A message's body: read in parts (the first MiB at once, "Load more" / "Load all" for the rest),
 * shown in the viewer its content type calls for, or the one the user picks. Text decoding and
 * JSON layout run in the formatter worker, so a large body never holds the page.
 */
import { useEffect, useMemo, useState } from 'react';
import type { BodyInfo, HeaderPair } from '../../../src-common/flow';
import { headerValue } from '../../../src-common/flow';
import { formatBytes } from '../../../src-common/flow-view';
import { decodeText } from '../../../src-common/inspect/text';
import { parseContentType, viewerFor, type BodyViewer } from '../../../src-common/inspect/viewer';
import { PART, useBody } from './data';
import { format } from './format-client';
import type { FormatResult } from './format-jobs';
import { copyWithToast } from './PairTable';
import { FormView, HexView, ImageView, JsonTree, TextLines } from './viewers';

const CHOICES: { value: BodyViewer | 'auto'; label: string }[] = [
  { value: 'auto', label: 'Auto' },
  { value: 'json', label: 'JSON' },
  { value: 'text', label: 'Text' },
  { value: 'html', label: 'HTML/XML source' },
  { value: 'hex', label: 'Hex' },
  { value: 'image', label: 'Image' },
  { value: 'form', label: 'Form' },
  { value: 'raw', label: 'Raw message' },
];

export interface BodyViewProps {
  info: BodyInfo;
  headers: readonly HeaderPair[];
  /** The request or status line, for the Raw view. */
  startLine: string;
}

/** The Raw view's head: start line and headers exactly as recorded. */
function rawHead(startLine: string, headers: readonly HeaderPair[]): Uint8Array {
  const lines = [startLine, ...headers.map(([n, v]) => `${n}: ${v}`), '', ''];
  return new TextEncoder().encode(lines.join('\r\n'));
}

export function BodyView({ info, headers, startLine }: BodyViewProps) {
  const { body, load } = useBody(info);
  const [choice, setChoice] = useState<BodyViewer | 'auto'>('auto');
  const contentType = headerValue(headers, 'content-type');
  const charset = parseContentType(contentType).params.charset;
  const auto = useMemo(
    () => (body ? viewerFor(contentType, body.bytes.subarray(0, 4096)) : 'text'),
    // The first part decides; later parts do not change the type.
    [contentType, body !== undefined && body.bytes.length > 0],
  );
  const viewer = choice === 'auto' ? auto : choice;
  const complete = body !== undefined && body.bytes.length >= body.total;
  // Formatting waits for a load in flight to end: one job for the whole load, not one per part.
  const formatted = useFormatted(
    body?.loading ? undefined : body?.bytes,
    viewer,
    charset,
    !complete,
    startLine,
    headers,
  );

  if (!info.bodyId) {
    return (
      <div className="inspector-body" data-testid="body-viewer" data-viewer="none">
        <p className="muted inspector-empty">
          {info.size === 0
            ? 'No body.'
            : `The body (${formatBytes(info.size)}) was not captured: recording was off, or the capture cap is 0.`}
        </p>
      </div>
    );
  }
  const remaining = body ? body.total - body.bytes.length : 0;
  return (
    <div className="inspector-body">
      <div className="body-bar">
        <label>
          View{' '}
          <select
            value={choice}
            data-testid="viewer-select"
            onChange={(e) => setChoice(e.target.value as BodyViewer | 'auto')}
          >
            {CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.value === 'auto' ? `Auto (${auto})` : c.label}
              </option>
            ))}
          </select>
        </label>
        {body && (
          <span className="muted" data-testid="body-size">
            {complete
              ? formatBytes(body.total)
              : `${formatBytes(body.bytes.length)} of ${formatBytes(body.total)} loaded`}
            {body.decodedFrom && ` · decoded from ${body.decodedFrom}`}
          </span>
        )}
        {body && remaining > 0 && (
          <>
            <button
              type="button"
              className="mini"
              data-testid="load-more"
              disabled={!!body.loading}
              onClick={() => load(body.bytes.length + PART)}
            >
              Load {formatBytes(Math.min(PART, remaining))} more
            </button>
            <button
              type="button"
              className="mini"
              data-testid="load-all"
              disabled={!!body.loading}
              onClick={() => load(body.total)}
            >
              Load all ({formatBytes(body.total)})
            </button>
          </>
        )}
        {body?.loading && (
          <progress
            data-testid="load-progress"
            max={body.loading.target}
            value={body.bytes.length}
          />
        )}
        <span className="spacer" />
        <button
          type="button"
          className="mini"
          data-testid="copy-body"
          disabled={!body}
          onClick={() =>
            body &&
            void copyWithToast(
              decodeText(body.bytes, charset).text,
              complete
                ? 'the body'
                : `the loaded ${formatBytes(body.bytes.length)} (Load all to copy everything)`,
            )
          }
        >
          Copy body
        </button>
      </div>
      {body?.decodeError && <p className="inspector-note">{body.decodeError}</p>}
      {body?.truncated && (
        <p className="inspector-note">
          Only the start of this body is here: it was longer than the capture cap (or the decoding
          cap).
        </p>
      )}
      {body?.error && <p className="inspector-note error">{body.error}</p>}
      <div className="body-content" data-testid="body-viewer" data-viewer={viewer}>
        {!body ? (
          <p className="muted inspector-empty">Loading the body…</p>
        ) : viewer === 'hex' ? (
          <HexView bytes={body.bytes} />
        ) : viewer === 'image' ? (
          <ImageView bytes={body.bytes} contentType={contentType} />
        ) : viewer === 'form' ? (
          <FormView bytes={body.bytes} contentType={contentType} />
        ) : !formatted ? (
          <p className="muted inspector-empty">Formatting…</p>
        ) : (
          <>
            {formatted.kind === 'text' && formatted.note && (
              <p className="inspector-note">{formatted.note}</p>
            )}
            {formatted.kind === 'text' && formatted.fallback && (
              <p className="inspector-note">
                Not valid {charset ?? 'UTF-8'}: shown as {formatted.encoding}.
              </p>
            )}
            {formatted.kind === 'json' ? (
              <JsonTree result={formatted} />
            ) : (
              <TextLines result={formatted} viewer={viewer === 'json' ? 'text' : viewer} />
            )}
          </>
        )}
      </div>
    </div>
  );
}

/** The worker's formatting of the loaded bytes for the text-like viewers, redone as they grow. */
function useFormatted(
  bytes: Uint8Array | undefined,
  viewer: BodyViewer,
  charset: string | undefined,
  cut: boolean,
  startLine: string,
  headers: readonly HeaderPair[],
): FormatResult | undefined {
  const [result, setResult] = useState<{ key: unknown[]; value: FormatResult }>();
  const textual = viewer === 'json' || viewer === 'text' || viewer === 'html' || viewer === 'raw';
  const key = [bytes, viewer, charset];
  useEffect(() => {
    if (!bytes || !textual) return;
    let live = true;
    let input = bytes;
    if (viewer === 'raw') {
      const head = rawHead(startLine, headers);
      input = new Uint8Array(head.length + bytes.length);
      input.set(head);
      input.set(bytes, head.length);
    }
    format({ kind: viewer === 'json' ? 'json' : 'text', bytes: input, charset, cut }).then(
      (value) => live && setResult({ key: [bytes, viewer, charset], value }),
      (err: Error) =>
        live &&
        setResult({
          key: [bytes, viewer, charset],
          value: {
            kind: 'text',
            text: '',
            bounds: new Uint32Array(0),
            encoding: 'utf-8',
            fallback: false,
            note: `The body could not be formatted: ${err.message}`,
          },
        }),
    );
    return () => {
      live = false;
    };
  }, [bytes, viewer, charset]);
  // While more of the body is formatted, the last result of the same view stays up.
  if (!result || result.key[1] !== key[1] || result.key[2] !== key[2]) return undefined;
  return result.value;
}
