/**
 * The contract's `settings` section over a session: every change is validated, saved and
 * applied at once by `session.updateSettings`; this turns refusals into `invalid_argument` and a
 * change the disk did not take (full, read-only) into `unavailable`, and tells every window of
 * the new settings (and of the proxy's new address after a port move).
 */
import type { ApiEvent, ProxyStatus, SettingsSection } from '../../src-common/api/contract';
import { SettingsError } from '../data/settings';
import { ApiFailure } from './api-failure';
import type { Session } from './session';

/**
 * `status` gives the proxy's status as the `proxy` section reports it. Changes saved inside the
 * session (a host learned or expiring) are announced too, until `dispose` (the transport closed).
 */
export function createSettingsSection(
  session: Session,
  emit: (event: ApiEvent) => void,
  status: () => ProxyStatus,
): { section: SettingsSection; dispose(): void } {
  const dispose = session.onSettings((settings) => emit({ settings }));
  const section: SettingsSection = {
    get: async () => session.settings.get(),
    async update(patch) {
      const port = session.proxy.port;
      let next;
      try {
        next = await session.updateSettings(patch);
      } catch (err) {
        if (err instanceof SettingsError) {
          const code = err.code === 'settings_not_saved' ? 'unavailable' : 'invalid_argument';
          throw new ApiFailure(code, err.message);
        }
        throw err;
      }
      emit({ settings: next, ...(session.proxy.port !== port ? { proxy: status() } : {}) });
      return next;
    },
    async forgetLearned(host) {
      // The session announces the saved list itself (onSettings above).
      const next = await session.forgetLearned(host);
      if (!next) {
        throw new ApiFailure('not_found', `${host} is not on the auto-learned bypass list`);
      }
      return next;
    },
  };
  return { section, dispose };
}
