/**
 * Notices as toasts: stacked in a corner, announced politely to screen readers, dismissed after
 * a few seconds (errors stay longer) or by their close button. Never modal.
 */
import { useEffect } from 'react';
import type { Notice } from '../../src-common/api/contract';

export interface ToastItem extends Notice {
  key: number;
}

const LIFETIME_MS: Record<Notice['level'], number> = { info: 5000, warning: 8000, error: 12000 };

function Toast({ toast, onDismiss }: { toast: ToastItem; onDismiss(key: number): void }) {
  useEffect(() => {
    const timer = setTimeout(() => onDismiss(toast.key), LIFETIME_MS[toast.level]);
    return () => clearTimeout(timer);
  }, [toast.key, toast.level, onDismiss]);
  return (
    <div
      className={`toast toast-${toast.level}`}
      role={toast.level === 'error' ? 'alert' : 'status'}
    >
      <span className="toast-text">{toast.message}</span>
      <button
        type="button"
        className="toast-close"
        aria-label="Dismiss"
        title="Dismiss"
        onClick={() => onDismiss(toast.key)}
      >
        ×
      </button>
    </div>
  );
}

export function Toasts({
  toasts,
  onDismiss,
}: {
  toasts: readonly ToastItem[];
  onDismiss(key: number): void;
}) {
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <Toast key={t.key} toast={t} onDismiss={onDismiss} />
      ))}
    </div>
  );
}
