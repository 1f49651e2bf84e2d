/**
 * Live tail: while the user is at the bottom of the table, new rows keep it scrolled to the
 * bottom; once they scroll up it stays put and counts what arrived since, for the
 * "N new — jump to latest" pill. Only meaningful in arrival order (`enabled`).
 */
import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from 'react';

/** Within this many pixels of the end counts as "at the bottom" (sub-pixel scroll positions). */
const SLACK_PX = 8;

export interface LiveTail {
  /** Rows shown since the user left the bottom (0 while following). */
  newCount: number;
  following: boolean;
  /** Call from the scroll container's onScroll. */
  onScroll(): void;
  /** Scrolls to the end and follows again. */
  jumpToLatest(): void;
}

export function useLiveTail(
  ref: RefObject<HTMLElement | null>,
  rowCount: number,
  enabled: boolean,
): LiveTail {
  const [following, setFollowing] = useState(true);
  const followingRef = useRef(true);
  /** The row count when the user left the bottom. */
  const [leftAt, setLeftAt] = useState(0);
  const countRef = useRef(rowCount);
  countRef.current = rowCount;

  const toEnd = useCallback(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [ref]);

  // After the rows grew (same commit, before paint): keep the end in view while following.
  useLayoutEffect(() => {
    if (enabled && following) toEnd();
  }, [rowCount, enabled, following, toEnd]);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK_PX;
    if (followingRef.current && !atBottom) setLeftAt(countRef.current);
    followingRef.current = atBottom;
    setFollowing(atBottom);
  }, [ref]);

  const jumpToLatest = useCallback(() => {
    followingRef.current = true;
    setFollowing(true);
    toEnd();
  }, [toEnd]);

  const newCount = enabled && !following ? Math.max(0, rowCount - leftAt) : 0;
  return { newCount, following: following || !enabled, onScroll, jumpToLatest };
}
