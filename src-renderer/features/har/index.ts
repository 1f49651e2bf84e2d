/**
 * HAR export and import and the session switcher. `SessionTabs` sits above the table;
 * `HarDialogs` shows what `harDialog` in the store asks for and the progress of `jobs`.
 */
import './har.css';

export { HarDialogs } from './HarDialogs';
export { SessionTabs } from './SessionTabs';
