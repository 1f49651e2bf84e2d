/**
 * A list of fixed-height rows of which only the visible ones (plus a few) are in the DOM: how the
 * inspector shows a million lines of text or hex without a million elements.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';

const OVERSCAN = 8;

export interface WindowedProps {
  count: number;
  rowHeight: number;
  row(index: number): ReactNode;
  className?: string;
  testId?: string;
  label?: string;
}

export function Windowed({ count, rowHeight, row, className, testId, label }: WindowedProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 400 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(view.top / rowHeight) - OVERSCAN);
  const last = Math.min(count, Math.ceil((view.top + view.height) / rowHeight) + OVERSCAN);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} className="win-row" style={{ top: i * rowHeight, height: rowHeight }}>
        {row(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      className={`windowed ${className ?? ''}`}
      data-testid={testId}
      aria-label={label}
      tabIndex={0}
      onScroll={(e) =>
        setView({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })
      }
    >
      <div className="win-body" style={{ height: count * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}
