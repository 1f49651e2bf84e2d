/**
 * Imported sessions and HAR files: `har.export` (streamed to disk by main, with progress jobs),
 * `har.import` (a HAR opened as a session of its own beside the live one) and the `sessions`
 * section. STUB: being built (issue 5); every method answers `unavailable` until then.
 */
import type { ApiEvent, HarSection, SessionsSection } from '../../src-common/api/contract';
import type { BodyInfo, Flow, HeaderPair } from '../../src-common/flow';
import { ApiFailure } from './api-failure';
import type { Session } from './session';

/** What the host process offers the HAR service (Electron's dialogs; headless downloads). */
export interface HarHost {
  /** Electron: asks where to save; undefined when the user cancels. */
  chooseSavePath?(defaultName: string): Promise<string | undefined>;
  /** Electron: asks which HAR to open; undefined when the user cancels. */
  chooseOpenPath?(): Promise<string | undefined>;
}

/** A body found in some session, for `flows.body` and `flows.bodyPart`. */
export interface FoundBody {
  info: BodyInfo;
  /** The headers of the message the body belongs to (for Content-Encoding). */
  headers: readonly HeaderPair[];
  /** The stored bytes are already decoded (an imported HAR's text): nothing to undo. */
  alreadyDecoded: boolean;
  read(): Promise<Buffer>;
}

export interface HarService {
  sessions: SessionsSection;
  har: HarSection;
  /** A flow of an imported session, by id. */
  flow(id: string): Flow | undefined;
  /** A body of an imported session, by body id. */
  body(bodyId: string): FoundBody | undefined;
  /** Frees imported sessions and temporary files. */
  dispose(): Promise<void>;
}

const notYet = (): never => {
  throw new ApiFailure('unavailable', 'HAR import and export are not built yet');
};

export function createHarService(
  _session: Session,
  _emit: (event: ApiEvent) => void,
  _host: HarHost,
): HarService {
  return {
    sessions: {
      list: async () => notYet(),
      flows: async () => notYet(),
      close: async () => notYet(),
    },
    har: { export: async () => notYet(), import: async () => notYet() },
    flow: () => undefined,
    body: () => undefined,
    dispose: async () => {},
  };
}
