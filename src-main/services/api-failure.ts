import type { ApiError } from '../../src-common/api/contract';

/** A failure a service reports on purpose, with a stable code. */
export class ApiFailure extends Error {
  constructor(
    readonly code: ApiError['code'],
    message: string,
  ) {
    super(message);
  }
}
