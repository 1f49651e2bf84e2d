/**
 * The Request and Response tabs: headers (ordered, exact case, copyable), the query (request),
 * cookies, and the body.
 */
import { useState } from 'react';
import { headerValues, type HttpFlow } from '../../../src-common/flow';
import { parseCookieHeader, parseQuery, parseSetCookie } from '../../../src-common/inspect/form';
import { BodyView } from './BodyView';
import { copyWithToast, PairTable } from './PairTable';

type Sub = 'headers' | 'query' | 'cookies' | 'body';

/** The sub-view last chosen per side, kept while the user moves from flow to flow. */
const lastSub: Record<'request' | 'response', Sub> = { request: 'headers', response: 'headers' };

function SetCookies({ values }: { values: string[] }) {
  if (values.length === 0) return <p className="muted inspector-empty">No Set-Cookie headers.</p>;
  return (
    <table className="pairs cookies">
      <thead>
        <tr>
          <th>Name</th>
          <th>Value</th>
          <th>Attributes</th>
        </tr>
      </thead>
      <tbody>
        {values.map((v, i) => {
          const c = parseSetCookie(v);
          return (
            <tr key={i} data-testid="cookie-row" data-name={c.name}>
              <th scope="row">{c.name}</th>
              <td className="pair-value">{c.value}</td>
              <td>{c.attributes.map(([n, a]) => (a ? `${n}=${a}` : n)).join('; ')}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function MessageView({ flow, side }: { flow: HttpFlow; side: 'request' | 'response' }) {
  const [sub, setSubState] = useState<Sub>(lastSub[side]);
  const setSub = (next: Sub) => {
    lastSub[side] = next;
    setSubState(next);
  };
  const message = side === 'request' ? flow.request : flow.response;
  if (!message) {
    return (
      <p className="muted inspector-empty">
        {flow.state === 'pending'
          ? 'The response has not arrived yet.'
          : flow.error
            ? `No response: ${flow.error.message}`
            : 'No response was recorded.'}
      </p>
    );
  }
  const subs: Sub[] =
    side === 'request' ? ['headers', 'query', 'cookies', 'body'] : ['headers', 'cookies', 'body'];
  const startLine =
    side === 'request'
      ? `${flow.request.method} ${flow.request.url} ${flow.request.httpVersion}`
      : `${flow.response!.httpVersion} ${flow.response!.status} ${flow.response!.statusText}`;
  const allHeaders = [startLine, ...message.headers.map(([n, v]) => `${n}: ${v}`)].join('\n');
  return (
    <div className="message-view">
      <div className="subtabs" role="tablist" aria-label={`${side} views`}>
        {subs.map((s) => (
          <button
            key={s}
            type="button"
            role="tab"
            className="subtab"
            data-testid="inspector-subtab"
            data-sub={s}
            aria-selected={sub === s}
            onClick={() => setSub(s)}
          >
            {s === 'headers'
              ? `Headers (${message.headers.length})`
              : s === 'query'
                ? `Query (${parseQuery(flow.request.url).length})`
                : s === 'cookies'
                  ? 'Cookies'
                  : 'Body'}
          </button>
        ))}
      </div>
      <div className="subview">
        {sub === 'headers' && (
          <>
            <div className="sub-tools">
              <code className="start-line">{startLine}</code>
              <span className="spacer" />
              <button
                type="button"
                className="mini"
                data-testid="copy-headers"
                onClick={() => void copyWithToast(allHeaders, 'the headers')}
              >
                Copy all
              </button>
            </div>
            <PairTable pairs={message.headers} empty="No headers." testId="header-row" copyable />
            {message.trailers.length > 0 && (
              <>
                <h4 className="sub-heading">Trailers</h4>
                <PairTable pairs={message.trailers} empty="" testId="trailer-row" copyable />
              </>
            )}
          </>
        )}
        {sub === 'query' && (
          <PairTable
            pairs={parseQuery(flow.request.url)}
            empty="The URL has no query."
            testId="query-row"
          />
        )}
        {sub === 'cookies' &&
          (side === 'request' ? (
            <PairTable
              pairs={headerValues(message.headers, 'cookie').flatMap(parseCookieHeader)}
              empty="No Cookie header."
              testId="cookie-row"
            />
          ) : (
            <SetCookies values={headerValues(message.headers, 'set-cookie')} />
          ))}
        {sub === 'body' && (
          <BodyView
            // A body still arriving is read again once more of it was captured.
            key={`${message.body.bodyId ?? `${flow.id}:${side}`}:${message.body.captured}`}
            info={message.body}
            headers={message.headers}
            startLine={startLine}
          />
        )}
      </div>
    </div>
  );
}
