/**
 * The renderer's one zustand store: the session (normalised `ids` + `byId`, the shown ids, host
 * and error counts, stats, proxy status, settings, toasts), the view (filter, quick toggles,
 * host, sort), the selection and the window arrangement (columns, sidebar). Features read and
 * change each other only through it. Events reach it through `queue.ts`, one `set()` per batch.
 */
import { create } from 'zustand';
import type {
  ApiEvent,
  FlowSummary,
  Job,
  Notice,
  SessionInfo,
  SystemInfo,
} from '../../src-common/api/contract';
import type { UiPreferences } from '../../src-common/settings';
import { compileFilter, type CompiledFilter } from '../../src-common/filter';
import type { FlowCategory } from '../../src-common/flow-view';
import {
  addToasts,
  applyEvents,
  emptySession,
  SESSION_FLOW_KEYS,
  type SessionData,
  type SessionFlows,
} from './apply-events';
import { mergeColumnPrefs, MIN_WIDTH, type ColumnId, type ColumnLayout } from './columns';
import { EMPTY_SELECTION, type Selection } from './selection';
import { deriveVisible, type SortSpec, type StatusClass, type ViewSpec } from './visible';
import { debug } from './debug';

/** The transport's state as the connection banner shows it. */
export type Connection =
  | { status: 'open' }
  | { status: 'connecting'; attempt: number }
  | { status: 'refused'; message: string };

export interface ViewState {
  filterText: string;
  filter: CompiledFilter;
  types: readonly FlowCategory[];
  statuses: readonly StatusClass[];
  host?: string;
  sort?: SortSpec;
}

export interface LayoutState {
  columns: readonly ColumnLayout[];
  sidebarVisible: boolean;
  sidebarWidth: number;
  /** Hosts kept at the top of the sidebar, in pinning order. */
  pinnedHosts: string[];
  /** True once the saved arrangement was read: only then are changes worth saving. */
  layoutLoaded: boolean;
}

export interface State extends SessionData, ViewState, LayoutState {
  system?: SystemInfo;
  connection: Connection;
  selection: Selection;
  /** The Clear confirmation dialog is open. */
  confirmingClear: boolean;
  /** The Preferences dialog is open. */
  preferencesOpen: boolean;
  /** A HAR dialog asked for by a command (menu, shortcut, toolbar); the HAR feature shows it. */
  harDialog?: 'export' | 'import';
  /** The sessions there are: the live one first, then imported HAR files. */
  sessions: readonly SessionInfo[];
  /** The session the table shows: `live` or an imported one's id. */
  activeSessionId: string;
  /** Long work in main (exports, imports) by id, as the last `jobs` event left it. */
  jobs: Readonly<Record<string, Job>>;
  /**
   * The live session's flows while an imported one is shown (undefined while live is shown).
   * Live traffic keeps landing here; switching back puts it on the table again.
   */
  liveStash?: SessionFlows;

  /** Applies a batch of events in one `set()` (called by the queue, never directly). */
  applyBatch(events: readonly ApiEvent[]): void;
  setFilterText(text: string): void;
  toggleType(type: FlowCategory): void;
  toggleStatus(status: StatusClass): void;
  /** Shows one host only; the same host again, or undefined, shows all. */
  selectHost(host: string | undefined): void;
  /** Shows every flow again: no filter text, toggles or host. */
  clearView(): void;
  /** Header click: ascending → descending → arrival order. */
  cycleSort(id: ColumnId): void;
  setSelection(selection: Selection): void;
  setColumns(columns: readonly ColumnLayout[]): void;
  setSidebar(change: { visible?: boolean; width?: number }): void;
  /** Pins a host to the top of the sidebar, or unpins it. */
  togglePin(host: string): void;
  /** Restores the saved arrangement (once, at start). */
  loadLayout(ui: UiPreferences): void;
  setSystem(system: SystemInfo): void;
  setConnection(connection: Connection): void;
  setConfirmingClear(open: boolean): void;
  setPreferencesOpen(open: boolean): void;
  setHarDialog(dialog: 'export' | 'import' | undefined): void;
  /** Shows an imported session's flows (as `sessions.flows` gave them) in the table. */
  showSession(id: string, flows: readonly FlowSummary[]): void;
  /** Shows the live session again, with whatever arrived meanwhile. */
  showLive(): void;
  /** A fresh session list (asked for after a reconnect); a closed shown session shows live. */
  setSessions(sessions: readonly SessionInfo[]): void;
  /** Jobs as a call returned them (events bring later states). */
  applyJobs(jobs: readonly Job[]): void;
  /** Forgets a finished job (its progress line is dismissed). */
  dismissJob(id: string): void;
  toast(level: Notice['level'], message: string): void;
  dismissToast(key: number): void;
}

/** The view part of the state as the derivation takes it. */
export function viewOf(s: ViewState): ViewSpec {
  return { filter: s.filter, host: s.host, types: s.types, statuses: s.statuses, sort: s.sort };
}

const toggle = <T>(list: readonly T[], item: T): T[] =>
  list.includes(item) ? list.filter((x) => x !== item) : [...list, item];

export const SIDEBAR_DEFAULT_WIDTH = 220;

const pickFlows = (s: SessionFlows): SessionFlows => {
  const out = {} as Record<string, unknown>;
  for (const key of SESSION_FLOW_KEYS) out[key] = s[key];
  return out as unknown as SessionFlows;
};

/** The state that shows the stashed live session again (the view may have changed meanwhile). */
function restoreLive(s: State): Partial<State> {
  const stash = s.liveStash;
  if (!stash) return { activeSessionId: 'live' };
  return {
    ...stash,
    visibleIds: deriveVisible(stash.ids, stash.byId, viewOf(s)),
    visibleVersion: s.visibleVersion + 1,
    liveStash: undefined,
    activeSessionId: 'live',
    selection: EMPTY_SELECTION,
  };
}

/**
 * The shown session was in the list and is not in `next`. A list that never had it is older than
 * the import (its event queued behind the import's reply), not a close.
 */
function wasClosed(s: State, next: readonly SessionInfo[]): boolean {
  const shown = s.activeSessionId;
  if (shown === 'live' || !s.sessions.some((x) => x.id === shown)) return false;
  return !next.some((x) => x.id === shown);
}

/**
 * A batch while an imported session is shown: flow changes are the live session's and go to the
 * stash (O(batch), as on the table); the rest (stats, proxy, settings, notices) are global.
 */
function applyStashed(s: State, stash: SessionFlows, events: readonly ApiEvent[]): Partial<State> {
  const flowEvents: ApiEvent[] = [];
  const rest: ApiEvent[] = [];
  for (const { flows, ...other } of events) {
    if (flows) flowEvents.push({ flows });
    rest.push(other);
  }
  const view = viewOf(s);
  const patch: Partial<State> = applyEvents(s, view, rest);
  if (flowEvents.length > 0) {
    const live = applyEvents(
      { ...stash, toasts: [], toastSeq: 0, shownNotices: [] },
      view,
      flowEvents,
    );
    patch.liveStash = pickFlows({ ...stash, ...live });
  }
  return patch;
}

/** Makes a store; the app uses the one below, tests make their own. */
export function createLoupeStore() {
  return create<State>()((set, get) => {
    /** Sets view fields and re-derives the shown ids from scratch (the view changed). */
    const setView = (change: Partial<ViewState>): void => {
      const s = get();
      const next = { ...s, ...change };
      set({
        ...change,
        visibleIds: deriveVisible(s.ids, s.byId, viewOf(next)),
        visibleVersion: s.visibleVersion + 1,
      });
    };
    return {
      ...emptySession(),
      filterText: '',
      filter: compileFilter(''),
      types: [],
      statuses: [],
      columns: mergeColumnPrefs(undefined),
      sidebarVisible: true,
      sidebarWidth: SIDEBAR_DEFAULT_WIDTH,
      pinnedHosts: [],
      layoutLoaded: false,
      connection: { status: 'connecting', attempt: 0 },
      selection: EMPTY_SELECTION,
      confirmingClear: false,
      preferencesOpen: false,
      sessions: [],
      activeSessionId: 'live',
      jobs: {},

      applyBatch(events) {
        const s = get();
        const stash = s.liveStash;
        const patch = stash ? applyStashed(s, stash, events) : applyEvents(s, viewOf(s), events);
        // A clear forgets the selection too: its rows are gone (a stashed session has none).
        const cleared = !stash && events.some((e) => e.flows?.cleared);
        const extra: Partial<State> = cleared ? { selection: EMPTY_SELECTION } : {};
        for (const event of events) {
          if (event.sessions) extra.sessions = event.sessions;
          if (event.jobs) {
            const jobs = { ...(extra.jobs ?? s.jobs) };
            for (const job of event.jobs) jobs[job.id] = job;
            extra.jobs = jobs;
          }
        }
        const closed = extra.sessions && wasClosed(s, extra.sessions);
        // The session on the table was closed (here or elsewhere): back to the live one.
        const back = closed ? restoreLive({ ...s, ...patch } as State) : {};
        set({ ...patch, ...extra, ...back });
        debug.storeUpdates += 1;
      },
      showSession(id, flows) {
        const s = get();
        if (id === 'live') return void set(restoreLive(s));
        const stash = s.liveStash ?? pickFlows(s);
        const base: SessionData = { ...s, ...emptySession(), visibleVersion: s.visibleVersion };
        const shown = applyEvents(base, viewOf(s), [
          { flows: { cleared: true, added: [...flows], updated: [] } },
        ]);
        set({
          ...pickFlows({ ...base, ...shown }),
          liveStash: stash,
          activeSessionId: id,
          selection: EMPTY_SELECTION,
        });
      },
      showLive() {
        set(restoreLive(get()));
      },
      setSessions(sessions) {
        const s = get();
        set({ sessions, ...(wasClosed(s, sessions) ? restoreLive(s) : {}) });
      },
      applyJobs(list) {
        set((s) => {
          const jobs = { ...s.jobs };
          for (const job of list) jobs[job.id] = job;
          return { jobs };
        });
      },
      setFilterText(text) {
        setView({ filterText: text, filter: compileFilter(text) });
      },
      toggleType(type) {
        setView({ types: toggle(get().types, type) });
      },
      toggleStatus(status) {
        setView({ statuses: toggle(get().statuses, status) });
      },
      selectHost(host) {
        setView({ host: host === get().host ? undefined : host });
      },
      clearView() {
        setView({
          filterText: '',
          filter: compileFilter(''),
          types: [],
          statuses: [],
          host: undefined,
        });
      },
      cycleSort(id) {
        const sort = get().sort;
        if (sort?.id !== id) setView({ sort: { id, desc: false } });
        else if (!sort.desc) setView({ sort: { id, desc: true } });
        else setView({ sort: undefined });
      },
      setSelection(selection) {
        set({ selection });
      },
      setColumns(columns) {
        set({ columns });
      },
      setSidebar({ visible, width }) {
        set((s) => ({
          sidebarVisible: visible ?? s.sidebarVisible,
          sidebarWidth: width === undefined ? s.sidebarWidth : Math.max(MIN_WIDTH * 4, width),
        }));
      },
      togglePin(host) {
        set((s) => ({
          pinnedHosts: s.pinnedHosts.includes(host)
            ? s.pinnedHosts.filter((h) => h !== host)
            : [...s.pinnedHosts, host],
        }));
      },
      loadLayout(ui) {
        set({
          pinnedHosts: ui.pinnedHosts ?? [],
          columns: mergeColumnPrefs(ui.columns),
          sidebarVisible: ui.sidebarVisible ?? true,
          sidebarWidth: ui.sidebarWidth ?? SIDEBAR_DEFAULT_WIDTH,
          layoutLoaded: true,
        });
      },
      setSystem(system) {
        set({ system });
      },
      setConnection(connection) {
        set({ connection });
      },
      setConfirmingClear(open) {
        // Clear forgets the live session; asked while a file is shown (⌘K), it says so instead.
        if (open && get().activeSessionId !== 'live') {
          get().toast('info', 'Clear acts on the live session: show the Live tab first');
          return;
        }
        set({ confirmingClear: open });
      },
      setPreferencesOpen(open) {
        set({ preferencesOpen: open });
      },
      setHarDialog(dialog) {
        set({ harDialog: dialog });
      },
      dismissJob(id) {
        set((s) => {
          const jobs = { ...s.jobs };
          delete jobs[id];
          return { jobs };
        });
      },
      toast(level, message) {
        set((s) => addToasts(s, [{ level, message, at: Date.now() }]));
      },
      dismissToast(key) {
        set((s) => ({ toasts: s.toasts.filter((t) => t.key !== key) }));
      },
    };
  });
}

/** The app's store. */
export const useStore = createLoupeStore();
