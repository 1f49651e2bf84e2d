/**
 * `flows.bodyPart`: a range of a body, decoded per its Content-Encoding or as sent, for the
 * inspector's on-demand chunked reading. STUB: being built (issue 5).
 */
import type { BodyPart, BodyPartRequest } from '../../src-common/api/contract';
import { ApiFailure } from './api-failure';
import type { FoundBody } from './har-service';

export interface BodyParts {
  read(bodyId: string, body: FoundBody, request: BodyPartRequest): Promise<BodyPart>;
  /** Forgets cached decoded bodies (after a clear). */
  clear(): void;
}

export function createBodyParts(): BodyParts {
  return {
    read: async () => {
      throw new ApiFailure('unavailable', 'reading body parts is not built yet');
    },
    clear: () => {},
  };
}
