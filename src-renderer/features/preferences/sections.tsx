/**
 * The sections of Preferences. Each change is sent at once (no global OK) and its refusal is
 * shown beside the field that caused it.
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { DEFAULT_SETTINGS, type Settings } from '../../../src-common/settings';
import { getBridge } from '../../api/bridge';
import { useStore } from '../../store/store';
import { PatternList } from './PatternList';
import {
  bytesToMb,
  expiresIn,
  MAX_CAP_MB,
  parseCapMb,
  parseHours,
  parsePort,
  parseSeconds,
  saveSettings,
  type LimitSetting,
} from './save';

const errorText = (result: { ok: true } | { ok: false; error: string }): string | undefined =>
  result.ok ? undefined : result.error;

export function BypassSection({ settings }: { settings: Settings }) {
  return (
    <>
      <p>
        Loupe never decrypts the hosts listed here: their HTTPS connections pass through as opaque
        tunnels (grey rows), so apps that pin their certificates, and sites you do not want seen,
        keep working untouched.
      </p>
      <p className="muted examples">
        Patterns: <code>bank.com</code> (that host), <code>*.bank.com</code> (its subdomains),{' '}
        <code>host:443</code> (one port), <code>10.0.0.5</code>, <code>10.0.0.0/8</code>,{' '}
        <code>[2001:db8::1]:443</code>, <code>*</code> (everything). Changes apply at once:
        connections they contradict are closed, and the client reconnects.
      </p>
      <PatternList
        testId="bypass"
        noun="bypass pattern"
        items={settings.bypass}
        toggles
        placeholder="*.bank.com"
        empty="Nothing is bypassed: Loupe decrypts every HTTPS host whose client trusts its CA."
        save={async (bypass) => errorText(await saveSettings({ bypass }))}
      />
    </>
  );
}

/** Re-renders every minute, for "expires in" texts. */
function useMinuteClock(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** A field applied by its button or Enter, with its hint and then its error underneath. */
function ApplyField(props: {
  testId: string;
  label: ReactNode;
  value: string;
  unit?: string;
  /** One line under the field: what it does and its default. */
  hint?: ReactNode;
  check(text: string): string | undefined;
  apply(text: string): Promise<string | undefined>;
}) {
  const { testId, label, value, unit, hint, check, apply } = props;
  const [text, setText] = useState(value);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // What is in force changed (applied here, or elsewhere): show it.
  useEffect(() => {
    setText(value);
    setError(undefined);
  }, [value]);
  const problem = check(text);
  const shown = error ?? (text.trim() ? problem : undefined);
  const describedBy = [hint && `${testId}-hint`, shown && `${testId}-error`].filter(Boolean);
  return (
    <form
      className="apply-field"
      onSubmit={(e) => {
        e.preventDefault();
        if (problem) return setError(problem);
        setBusy(true);
        void apply(text)
          .then(setError)
          .finally(() => setBusy(false));
      }}
    >
      <label>
        {label}
        <span className="apply-row">
          <input
            type="text"
            inputMode="decimal"
            data-testid={`${testId}-input`}
            aria-invalid={shown ? 'true' : 'false'}
            aria-describedby={describedBy.length ? describedBy.join(' ') : undefined}
            className={shown ? 'invalid narrow' : 'narrow'}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setError(undefined);
            }}
          />
          {unit && <span className="muted">{unit}</span>}
          <button
            type="submit"
            className="primary"
            data-testid={`${testId}-apply`}
            disabled={busy || text.trim() === value || problem !== undefined}
          >
            Apply
          </button>
        </span>
      </label>
      {hint && (
        <div className="muted field-hint" id={`${testId}-hint`}>
          {hint}
        </div>
      )}
      {shown && (
        <div
          className="field-error"
          id={`${testId}-error`}
          data-testid={`${testId}-error`}
          role="alert"
        >
          {shown}
        </div>
      )}
    </form>
  );
}

export function LearnedSection({ settings }: { settings: Settings }) {
  const now = useMinuteClock();
  const [error, setError] = useState<string>();
  const live = settings.autoBypass.filter((e) => e.expiresAt > now);
  const forget = async (host: string): Promise<void> => {
    try {
      await getBridge().settings.forgetLearned(host);
      setError(undefined);
    } catch (err) {
      setError((err as { message?: string }).message ?? String(err));
    }
  };
  return (
    <>
      <p>
        When an app rejects Loupe&apos;s certificate (it pins its own, most likely), Loupe tunnels
        that host for a while instead of breaking the app. Remove a host to decrypt it again from
        its next connection.
      </p>
      <ApplyField
        testId="hours"
        label="Keep learned hosts for"
        value={String(settings.autoBypassHours)}
        unit="hours (applies to hosts learned from now on)"
        check={(t) => errorText(parseHours(t))}
        apply={async (t) => {
          const parsed = parseHours(t);
          if (!parsed.ok) return parsed.error;
          return errorText(await saveSettings({ autoBypassHours: parsed.hours }));
        }}
      />
      {error && (
        <div className="field-error" data-testid="learned-error" role="alert">
          {error}
        </div>
      )}
      {live.length === 0 ? (
        <p className="muted pattern-empty" data-testid="learned-empty">
          No host learned. A host appears here when its client refuses Loupe&apos;s certificate.
        </p>
      ) : (
        <ul className="pattern-items" aria-label="Auto-learned hosts">
          {live.map((entry) => (
            <li
              key={entry.host}
              className="pattern-item learned"
              data-testid="learned-entry"
              data-host={entry.host}
            >
              <span className="learned-text">
                <code>{entry.host}</code>
                <span className="muted"> — {expiresIn(entry.expiresAt, now)}</span>
                <span className="learned-reason">{entry.reason}</span>
              </span>
              <span className="spacer" />
              <button
                type="button"
                className="mini"
                data-testid="learned-remove"
                aria-label={`Remove ${entry.host} from the learned list`}
                onClick={() => void forget(entry.host)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function UpstreamSection({ settings }: { settings: Settings }) {
  const list = settings.allowInvalidUpstreamCertificates;
  const items = useMemo(() => list.map((pattern) => ({ pattern, enabled: true })), [list]);
  return (
    <>
      <p>
        Loupe checks each server&apos;s certificate as a browser would. For the hosts listed here it
        accepts an invalid one (expired, self-signed, for another name): only for test servers you
        trust, since anyone between you and them could read the traffic.
      </p>
      <p className="muted examples">
        Same patterns as the bypass list (<code>dev.local</code>, <code>*.test</code>,{' '}
        <code>192.168.1.20:8443</code>). A change applies from the next request to the host:
        connections already open stay open, but are not reused for it.
      </p>
      <PatternList
        testId="cert-exception"
        noun="certificate exception"
        items={items}
        toggles={false}
        placeholder="dev.example.test"
        empty="No exceptions: an invalid upstream certificate fails the request with a 502 that says why."
        save={async (list) =>
          errorText(
            await saveSettings({ allowInvalidUpstreamCertificates: list.map((i) => i.pattern) }),
          )
        }
      />
    </>
  );
}

export function NetworkSection({ settings }: { settings: Settings }) {
  const proxy = useStore((s) => s.proxy);
  const [h3Error, setH3Error] = useState<string>();
  // Shown as clicked until the saved settings come back, or the change is refused.
  const [h3Sent, setH3Sent] = useState<boolean>();
  useEffect(() => setH3Sent(undefined), [settings.stripAltSvcH3]);
  return (
    <>
      <ApplyField
        testId="port"
        label="Proxy port"
        value={String(proxy?.port ?? settings.proxyPort)}
        check={(t) => errorText(parsePort(t))}
        apply={async (t) => {
          const parsed = parsePort(t);
          if (!parsed.ok) return parsed.error;
          return errorText(await saveSettings({ proxyPort: parsed.port }));
        }}
      />
      <p className="muted">
        {proxy ? (
          <>
            Listening on <code data-testid="port-current">{`${proxy.host}:${proxy.port}`}</code>.
          </>
        ) : (
          'Not connected to the proxy.'
        )}{' '}
        A new port is opened first, and only then is the old one closed (connections already open
        there finish). Point your clients at the new address.
      </p>
      <label className="check-row">
        <input
          type="checkbox"
          data-testid="h3-toggle"
          checked={h3Sent ?? settings.stripAltSvcH3}
          onChange={async (e) => {
            const on = e.target.checked;
            setH3Sent(on);
            const error = errorText(await saveSettings({ stripAltSvcH3: on }));
            setH3Error(error);
            if (error) setH3Sent(undefined);
          }}
        />
        <span>
          Keep browsers on HTTP/1.1 and HTTP/2
          <span className="muted block">
            Removes <code>h3</code> from <code>Alt-Svc</code> headers, so browsers do not move to
            HTTP/3 (QUIC over UDP), which Loupe cannot see. Applies from the next response.
          </span>
        </span>
      </label>
      {h3Error && (
        <div className="field-error" data-testid="h3-error" role="alert">
          {h3Error}
        </div>
      )}
      <ConnectionLimits settings={settings} />
    </>
  );
}

/** Each limit's field: its test id, label and what it does, in words. */
const LIMIT_FIELDS: { setting: LimitSetting; testId: string; label: string; does: string }[] = [
  {
    setting: 'requestHeadTimeoutSeconds',
    testId: 'head-timeout',
    label: 'Request head',
    does: "Time to send a request's headers, from their first byte; then 408 and a close.",
  },
  {
    setting: 'firstRequestTimeoutSeconds',
    testId: 'first-request-timeout',
    label: 'First request',
    does: 'Time a new connection has to start its first request before it is closed.',
  },
  {
    setting: 'keepAliveTimeoutSeconds',
    testId: 'keep-alive-timeout',
    label: 'Keep-alive',
    does: 'Time a connection may wait between requests before it is closed.',
  },
  {
    setting: 'tunnelIdleTimeoutSeconds',
    testId: 'tunnel-idle-timeout',
    label: 'Idle tunnel or WebSocket',
    does: 'Time a tunnel or WebSocket may go without a byte before it is closed; 0 = off.',
  },
];

/** The limits on client connections, each applied at once like the port. */
function ConnectionLimits({ settings }: { settings: Settings }) {
  return (
    <fieldset className="pref-group" data-testid="connection-limits">
      <legend>Connection limits</legend>
      <p className="muted">
        None applies while a request is in flight, however long it takes. A change counts from each
        connection&apos;s next wait.
      </p>
      {LIMIT_FIELDS.map(({ setting, testId, label, does }) => {
        const byDefault = DEFAULT_SETTINGS[setting];
        return (
          <ApplyField
            key={setting}
            testId={testId}
            label={label}
            value={String(settings[setting])}
            unit="seconds"
            hint={`${does} Default ${byDefault === 0 ? '0 (off)' : `${byDefault}\u00a0s`}.`}
            check={(t) => errorText(parseSeconds(t, setting))}
            apply={async (t) => {
              const parsed = parseSeconds(t, setting);
              if (!parsed.ok) return parsed.error;
              return errorText(await saveSettings({ [setting]: parsed.seconds }));
            }}
          />
        );
      })}
    </fieldset>
  );
}

export function CaptureSection({ settings }: { settings: Settings }) {
  return (
    <>
      <ApplyField
        testId="cap"
        label="Keep at most"
        value={bytesToMb(settings.captureBodyCap)}
        unit={`MB of each request and response body (0–${MAX_CAP_MB})`}
        check={(t) => errorText(parseCapMb(t))}
        apply={async (t) => {
          const parsed = parseCapMb(t);
          if (!parsed.ok) return parsed.error;
          return errorText(await saveSettings({ captureBodyCap: parsed.bytes }));
        }}
      />
      <p className="muted">
        Longer bodies are still forwarded whole; Loupe keeps their start and marks the flow
        truncated. 0 keeps no bodies at all. Applies to bodies captured from now on.
      </p>
      <ApplyField
        testId="ws-cap"
        label="WebSocket messages kept per connection"
        value={bytesToMb(settings.captureWebSocketCap)}
        unit={`MB (0–${MAX_CAP_MB})`}
        check={(t) => errorText(parseCapMb(t))}
        apply={async (t) => {
          const parsed = parseCapMb(t);
          if (!parsed.ok) return parsed.error;
          return errorText(await saveSettings({ captureWebSocketCap: parsed.bytes }));
        }}
      />
      <p className="muted">
        Messages are still relayed whole; past this many MB of payloads a connection&apos;s messages
        are counted but not kept (the one that crosses it keeps its start). 0 keeps no payloads at
        all. Default {bytesToMb(DEFAULT_SETTINGS.captureWebSocketCap)} MB; applies to connections
        opened from now on.
      </p>
    </>
  );
}
