/**
 * An editable list of host patterns (the SSL bypass list, the upstream-certificate exceptions):
 * add with validation as one types, edit in place (double-click or Edit; Enter saves, Esc
 * cancels), enable or disable (when the list has that), remove with an Undo. Every change is
 * sent at once; a refusal from main is shown under the field and nothing is lost.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { patternProblem } from './save';

export interface PatternItem {
  pattern: string;
  enabled: boolean;
}

export interface PatternListProps {
  /** Test id prefix: `bypass` gives `bypass-input`, `bypass-entry`… */
  testId: string;
  /** What an entry is, for labels ("bypass pattern"). */
  noun: string;
  items: readonly PatternItem[];
  /** Entries can be switched off without removing them. */
  toggles: boolean;
  placeholder: string;
  /** Shown when the list is empty. */
  empty: string;
  /** Sends the whole new list; resolves to the refusal in words, or undefined when saved. */
  save(items: PatternItem[]): Promise<string | undefined>;
}

/** Esc inside an editor must not also close the dialog: the dialog asks this first. */
export const escapeClaims = { claimed: false };

export function PatternList(props: PatternListProps) {
  const { testId, noun, toggles, placeholder, empty, save } = props;
  // The list as sent, shown until the saved settings come back (or the change is refused), so
  // a checkbox does not flick back while main applies it.
  const [sent, setSent] = useState<PatternItem[]>();
  useEffect(() => setSent(undefined), [props.items]);
  const items = sent ?? props.items;
  const [draft, setDraft] = useState('');
  const [addError, setAddError] = useState<string>();
  const [editing, setEditing] = useState<{ index: number; text: string; error?: string }>();
  const [removed, setRemoved] = useState<{ item: PatternItem; index: number }>();
  const [busy, setBusy] = useState(false);
  const patterns = items.map((i) => i.pattern);

  const draftProblem = draft.trim() ? patternProblem(draft, patterns) : undefined;
  const shownAddError = draftProblem ?? addError;

  // One change at a time, each built on the list the last one left: a second Enter or click
  // while one is on its way is ignored (the field keeps its text), never sent from a stale list.
  const inFlight = useRef(false);
  const send = async (next: PatternItem[]): Promise<string | undefined> => {
    if (inFlight.current) return 'The last change is still being saved; try again in a moment.';
    inFlight.current = true;
    setBusy(true);
    setSent(next);
    try {
      const error = await save(next);
      if (error) setSent(undefined);
      return error;
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const add = async (): Promise<void> => {
    const problem = patternProblem(draft, patterns);
    if (problem) {
      setAddError(problem);
      return;
    }
    const error = await send([...items, { pattern: draft.trim(), enabled: true }]);
    setAddError(error);
    if (!error) setDraft('');
  };

  const commitEdit = async (): Promise<void> => {
    if (!editing) return;
    const old = items[editing.index];
    if (!old) return setEditing(undefined);
    const text = editing.text.trim();
    if (text === old.pattern) return setEditing(undefined);
    const problem = patternProblem(text, patterns, old.pattern);
    if (problem) return setEditing({ ...editing, error: problem });
    const next = items.map((item, i) => (i === editing.index ? { ...item, pattern: text } : item));
    const error = await send(next);
    if (error) setEditing({ ...editing, error });
    else setEditing(undefined);
  };

  const remove = async (index: number): Promise<void> => {
    const item = items[index]!;
    const error = await send(items.filter((_, i) => i !== index));
    if (error) setAddError(error);
    else setRemoved({ item, index });
  };

  const undo = async (): Promise<void> => {
    if (!removed) return;
    const next = [...items];
    next.splice(Math.min(removed.index, next.length), 0, removed.item);
    const error = await send(next);
    if (error) setAddError(error);
    setRemoved(undefined);
  };

  const toggle = async (index: number, enabled: boolean): Promise<void> => {
    const error = await send(items.map((item, i) => (i === index ? { ...item, enabled } : item)));
    if (error) setAddError(error);
  };

  const editKeys = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === 'Enter') {
      e.preventDefault();
      void commitEdit();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      escapeClaims.claimed = true;
      setEditing(undefined);
    }
  };

  return (
    // aria-busy until main has applied the change shown (the list shows it as sent at once).
    <div className="pattern-list" data-testid={`${testId}-list`} aria-busy={busy}>
      <form
        className="pattern-add"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <input
          type="text"
          data-testid={`${testId}-input`}
          aria-label={`New ${noun}`}
          aria-invalid={shownAddError ? 'true' : 'false'}
          aria-describedby={shownAddError ? `${testId}-error` : undefined}
          className={shownAddError ? 'invalid' : undefined}
          placeholder={placeholder}
          spellCheck={false}
          autoComplete="off"
          value={draft}
          onChange={(e) => {
            setDraft(e.target.value);
            setAddError(undefined);
          }}
        />
        <button
          type="submit"
          className="primary"
          data-testid={`${testId}-add`}
          disabled={busy || !draft.trim() || draftProblem !== undefined}
        >
          Add
        </button>
      </form>
      {shownAddError && (
        <div
          className="field-error"
          id={`${testId}-error`}
          data-testid={`${testId}-error`}
          role="alert"
        >
          {shownAddError}
        </div>
      )}
      {removed && (
        <div className="undo-bar" role="status">
          Removed <code>{removed.item.pattern}</code>.
          <button type="button" className="mini" data-testid={`${testId}-undo`} onClick={undo}>
            Undo
          </button>
        </div>
      )}
      {items.length === 0 ? (
        <p className="muted pattern-empty">{empty}</p>
      ) : (
        <ul className="pattern-items" aria-label={`${noun}s`}>
          {items.map((item, index) => {
            const edit = editing?.index === index ? editing : undefined;
            return (
              <li
                key={item.pattern}
                className={item.enabled ? 'pattern-item' : 'pattern-item disabled'}
                data-testid={`${testId}-entry`}
                data-pattern={item.pattern}
              >
                {toggles && (
                  <input
                    type="checkbox"
                    data-testid={`${testId}-enabled`}
                    aria-label={`${item.enabled ? 'Disable' : 'Enable'} ${item.pattern}`}
                    title={
                      item.enabled ? 'On: matching hosts are tunnelled' : 'Off: kept, not applied'
                    }
                    checked={item.enabled}
                    disabled={busy}
                    onChange={(e) => void toggle(index, e.target.checked)}
                  />
                )}
                {edit ? (
                  <span className="pattern-edit">
                    <input
                      type="text"
                      data-testid={`${testId}-edit-input`}
                      aria-label={`Edit ${item.pattern}`}
                      aria-invalid={edit.error ? 'true' : 'false'}
                      className={edit.error ? 'invalid' : undefined}
                      spellCheck={false}
                      autoFocus
                      value={edit.text}
                      onChange={(e) => setEditing({ index, text: e.target.value })}
                      onKeyDown={editKeys}
                    />
                    {edit.error && (
                      <span
                        className="field-error"
                        data-testid={`${testId}-edit-error`}
                        role="alert"
                      >
                        {edit.error}
                      </span>
                    )}
                  </span>
                ) : (
                  <code
                    className="pattern-text"
                    title="Double-click to edit"
                    onDoubleClick={() => setEditing({ index, text: item.pattern })}
                  >
                    {item.pattern}
                  </code>
                )}
                <span className="spacer" />
                {edit ? (
                  <>
                    <button type="button" className="mini" onClick={() => void commitEdit()}>
                      Save
                    </button>
                    <button type="button" className="mini" onClick={() => setEditing(undefined)}>
                      Cancel
                    </button>
                  </>
                ) : (
                  <button
                    type="button"
                    className="mini"
                    data-testid={`${testId}-edit`}
                    aria-label={`Edit ${item.pattern}`}
                    onClick={() => setEditing({ index, text: item.pattern })}
                  >
                    Edit
                  </button>
                )}
                <button
                  type="button"
                  className="mini"
                  data-testid={`${testId}-remove`}
                  aria-label={`Remove ${item.pattern}`}
                  disabled={busy}
                  onClick={() => void remove(index)}
                >
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
