import type { ApiEvent } from '../src-common/api/contract';

/** The renderer's test hooks (src-renderer declares the same shape for itself). */
declare global {
  interface Window {
    __loupeDebug: {
      storeUpdates: number;
      rowRenders: Record<string, number>;
      applyEvent(event: ApiEvent): void;
    };
  }
}

export {};
