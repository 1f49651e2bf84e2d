/** An ordered two-column table of names and values (headers, query, form fields, cookies). */
import { copyText } from '../../components/copy';
import { useStore } from '../../store/store';

export async function copyWithToast(text: string, what: string): Promise<void> {
  const ok = await copyText(text);
  useStore
    .getState()
    .toast(ok ? 'info' : 'error', ok ? `Copied ${what}.` : `Could not copy ${what}.`);
}

export interface PairTableProps {
  pairs: readonly (readonly [string, string])[];
  empty: string;
  testId?: string;
  /** A copy button per row. */
  copyable?: boolean;
  compact?: boolean;
}

export function PairTable({ pairs, empty, testId, copyable, compact }: PairTableProps) {
  if (pairs.length === 0) return empty ? <p className="muted inspector-empty">{empty}</p> : null;
  return (
    <table className={`pairs${compact ? ' compact' : ''}`}>
      <tbody>
        {pairs.map(([name, value], i) => (
          <tr key={i} data-testid={testId} data-name={name}>
            <th scope="row">{name}</th>
            <td>
              <span className="pair-value">{value}</span>
              {copyable && (
                <button
                  type="button"
                  className="mini pair-copy"
                  aria-label={`Copy ${name}`}
                  title="Copy this header"
                  onClick={() => void copyWithToast(`${name}: ${value}`, name)}
                >
                  Copy
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
