/**
 * The Overview tab: what happened, in words and numbers. URL, status, protocol, both TLS legs,
 * the timing waterfall, the error, connection reuse, addresses and sizes; for a tunnel its target,
 * why it was not decrypted and the ClientHello.
 */
import type { ReactNode } from 'react';
import type {
  BodyInfo,
  Flow,
  FlowTimings,
  HttpFlow,
  TlsLeg,
  TunnelFlow,
} from '../../../src-common/flow';
import { formatBytes, formatClock, formatDuration } from '../../../src-common/flow-view';
import { copyWithToast } from './PairTable';

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="ov-row">
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
    </div>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="ov-section">
      <h3>{title}</h3>
      <dl>{children}</dl>
    </section>
  );
}

const PHASES: { key: keyof FlowTimings; label: string }[] = [
  { key: 'blocked', label: 'Blocked' },
  { key: 'dns', label: 'DNS' },
  { key: 'connect', label: 'Connect' },
  { key: 'ssl', label: 'TLS' },
  { key: 'send', label: 'Send' },
  { key: 'wait', label: 'Wait' },
  { key: 'receive', label: 'Receive' },
];

/**
 * Bars laid out in time order as HAR defines the phases: TLS is part of Connect, so its bar sits
 * at the end of Connect's instead of after it.
 */
export function Waterfall({ timings }: { timings: FlowTimings }) {
  const total = PHASES.reduce(
    (sum, p) => (p.key !== 'ssl' && timings[p.key] > 0 ? sum + timings[p.key] : sum),
    0,
  );
  let at = 0;
  let connectEnd = 0;
  const bars = PHASES.map((p) => {
    const ms = timings[p.key];
    let start = at;
    if (p.key === 'ssl') start = Math.max(0, connectEnd - Math.max(0, ms));
    else if (ms > 0) at += ms;
    if (p.key === 'connect') connectEnd = at;
    return { ...p, ms, start };
  });
  const pct = (v: number) => (total > 0 ? `${(v / total) * 100}%` : '0%');
  return (
    <div className="waterfall" data-testid="waterfall">
      {bars.map((b) => (
        <div
          key={b.key}
          className="wf-row"
          data-testid="timing-bar"
          data-phase={b.key}
          data-ms={b.ms}
        >
          <span className="wf-label">{b.label}</span>
          <span className="wf-track">
            {b.ms >= 0 && (
              <span
                className={`wf-bar wf-${b.key}`}
                style={{ left: pct(b.start), width: b.ms > 0 ? pct(b.ms) : '1px' }}
              />
            )}
          </span>
          <span className="wf-ms">{b.ms < 0 ? '—' : formatDuration(b.ms)}</span>
        </div>
      ))}
      <div className="wf-row wf-total">
        <span className="wf-label">Total</span>
        <span className="wf-track" />
        <span className="wf-ms">{formatDuration(total)}</span>
      </div>
    </div>
  );
}

function Leg({ leg }: { leg?: TlsLeg }) {
  if (!leg) return <span className="muted">—</span>;
  const parts = [
    leg.version,
    leg.cipher,
    leg.alpn && `ALPN ${leg.alpn}`,
    leg.sni && `SNI ${leg.sni}`,
  ];
  return <span>{parts.filter(Boolean).join(' · ') || '—'}</span>;
}

function sizeText(b: BodyInfo): string {
  let s = formatBytes(b.size);
  if (b.decodedSize !== undefined && b.decodedSize !== b.size)
    s += ` (${formatBytes(b.decodedSize)} decoded)`;
  if (b.truncated) s += ` · only ${formatBytes(b.captured)} captured (capture cap)`;
  return s;
}

function ErrorRows({ flow }: { flow: Flow }) {
  if (!flow.error) return null;
  const e = flow.error;
  return (
    <Section title="Error">
      <Row label="What happened" testId="overview-error">
        <span className="ov-error">{e.message}</span>
      </Row>
      <Row label="Code">
        <code>{e.code}</code> during {e.phase}
        {e.detail && (
          <>
            {' '}
            (<code>{e.detail}</code>)
          </>
        )}
      </Row>
    </Section>
  );
}

function HttpOverview({ flow }: { flow: HttpFlow }) {
  const { request, response, tls } = flow;
  const chain = tls?.upstream?.chain ?? [];
  return (
    <>
      <Section title="Request">
        <Row label="URL" testId="overview-url">
          <span className="ov-url">{request.url}</span>{' '}
          <button
            type="button"
            className="mini"
            onClick={() => void copyWithToast(request.url, 'the URL')}
          >
            Copy
          </button>
        </Row>
        <Row label="Method">
          <code>{request.method}</code>
        </Row>
        <Row label="Status" testId="overview-status">
          {response ? (
            `${response.status} ${response.statusText}`
          ) : flow.state === 'pending' ? (
            <span className="muted">waiting for the response…</span>
          ) : (
            <span className="muted">no response</span>
          )}
        </Row>
        <Row label="Protocol" testId="overview-protocol">
          {request.httpVersion}
          {response &&
            response.httpVersion !== request.httpVersion &&
            ` (server: ${response.httpVersion})`}
        </Row>
        <Row label="Started">{`${formatClock(flow.startedAt)} · ${new Date(flow.startedAt).toISOString().slice(0, 10)}`}</Row>
        <Row label="Request body">{sizeText(request.body)}</Row>
        {response && <Row label="Response body">{sizeText(response.body)}</Row>}
      </Section>
      <ErrorRows flow={flow} />
      <Section title="Timing">
        <Waterfall timings={flow.timings} />
      </Section>
      <Section title="Connection">
        <Row label="Client">{`${flow.client.address}:${flow.client.port}`}</Row>
        <Row label="Server">
          {flow.server
            ? `${flow.server.host}:${flow.server.port}${flow.server.address ? ` (${flow.server.address})` : ''}`
            : '—'}
        </Row>
        <Row label="Reused" testId="overview-reused">
          {flow.connection.reused
            ? 'yes: the upstream connection came from the pool'
            : 'no: a new upstream connection'}
        </Row>
        <Row label="Connection ids">
          <code>client {flow.connection.clientConnectionId}</code>
          {flow.connection.upstreamConnectionId && (
            <>
              {' · '}
              <code>upstream {flow.connection.upstreamConnectionId}</code>
            </>
          )}
        </Row>
      </Section>
      {tls && (
        <Section title="TLS">
          <Row label="Client ↔ Loupe" testId="overview-tls-client">
            <Leg leg={tls.client} />
          </Row>
          <Row label="Loupe ↔ server" testId="overview-tls-upstream">
            <Leg leg={tls.upstream} />
          </Row>
          {tls.upstream?.verified !== undefined && (
            <Row label="Verified">
              {tls.upstream.verified ? (
                'yes'
              ) : (
                <span className="ov-error">no: an exception for this host allowed it</span>
              )}
            </Row>
          )}
          {chain.map((cert, i) => (
            <Row key={i} label={i === 0 ? 'Server certificate' : `Issuer ${i}`}>
              <span className="ov-cert">
                {cert.subject}
                <br />
                <span className="muted">
                  issued by {cert.issuer} · valid {cert.validFrom.slice(0, 10)} to{' '}
                  {cert.validTo.slice(0, 10)}
                  {cert.san.length > 0 &&
                    ` · ${cert.san.slice(0, 6).join(', ')}${cert.san.length > 6 ? '…' : ''}`}
                </span>
              </span>
            </Row>
          ))}
        </Section>
      )}
      {flow.tags.length > 0 && (
        <Section title="Tags">
          <Row label="Tags">{flow.tags.join(', ')}</Row>
        </Section>
      )}
    </>
  );
}

function TunnelOverview({ flow }: { flow: TunnelFlow }) {
  const hello = flow.hello;
  return (
    <>
      <Section title="Tunnel">
        <Row label="Target" testId="overview-url">{`${flow.target.host}:${flow.target.port}`}</Row>
        <Row label="Kind" testId="overview-status">
          {flow.protocol === 'tls' ? 'TLS, not decrypted' : 'raw TCP, not HTTP or TLS'}
        </Row>
        <Row label="Why not decrypted" testId="overview-reason">
          {flow.reason ?? 'no reason was recorded'}
        </Row>
        <Row label="Bytes">{`${formatBytes(flow.bytesUp)} up · ${formatBytes(flow.bytesDown)} down`}</Row>
        <Row label="Duration">
          {flow.state === 'pending' ? 'open' : formatDuration(flow.durationMs)}
        </Row>
        <Row label="Client">{`${flow.client.address}:${flow.client.port}`}</Row>
        <Row label="Started">{formatClock(flow.startedAt)}</Row>
      </Section>
      {hello && (
        <Section title="ClientHello">
          <Row label="SNI">{hello.sni ?? <span className="muted">none sent</span>}</Row>
          <Row label="ALPN">
            {hello.alpn.length > 0 ? hello.alpn.join(', ') : <span className="muted">none</span>}
          </Row>
          <Row label="Versions">{hello.versions.join(', ') || '—'}</Row>
        </Section>
      )}
      <ErrorRows flow={flow} />
    </>
  );
}

export function Overview({ flow }: { flow: Flow }) {
  return (
    <div className="overview" data-testid="overview">
      {flow.kind === 'tunnel' ? <TunnelOverview flow={flow} /> : <HttpOverview flow={flow} />}
    </div>
  );
}
