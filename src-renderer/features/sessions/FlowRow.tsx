/**
 * One table row. Memoised and subscribed to its own flow by id, so a batch that changes one flow
 * re-renders one row: the table passes only primitives and a layout array that changes only when
 * the columns do. Its renders are counted for the e2e tests (`__loupeDebug.rowRenders`).
 */
import { memo } from 'react';
import { flowLook } from '../../../src-common/flow-view';
import { countRowRender } from '../../store/debug';
import type { ColumnLayout } from '../../store/columns';
import { useStore } from '../../store/store';
import { COLUMN_VIEWS } from './columns';

export const ROW_HEIGHT = 24;

export interface FlowRowProps {
  id: string;
  /** Position among the shown rows (0-based), for aria-rowindex and zebra striping. */
  index: number;
  /** Pixels from the top of the rows area. */
  top: number;
  selected: boolean;
  focused: boolean;
  columns: readonly ColumnLayout[];
  width: number;
}

/** The DOM id of a row, for aria-activedescendant. */
export const rowDomId = (id: string): string => `flow-row-${id}`;

export const FlowRow = memo(function FlowRow(props: FlowRowProps) {
  const { id, index, top, selected, focused, columns, width } = props;
  const flow = useStore((s) => s.byId[id]);
  countRowRender(id);
  if (!flow) return null;
  const look = flowLook(flow);
  const classes = ['row', `look-${look}`, index % 2 ? 'odd' : 'even'];
  if (selected) classes.push('selected');
  if (focused) classes.push('focused');
  return (
    <div
      id={rowDomId(id)}
      className={classes.join(' ')}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      data-testid="flow-row"
      data-flow-id={id}
      data-seq={flow.seq}
      data-look={look}
      title={flow.error ? flow.error.message : undefined}
      style={{ transform: `translateY(${top}px)`, width }}
    >
      {columns.map((c) => {
        const view = COLUMN_VIEWS[c.id];
        return (
          <div
            key={c.id}
            role="gridcell"
            className={view.numeric ? 'cell num' : 'cell'}
            data-col={c.id}
            style={{ width: c.width }}
          >
            {view.cell(flow)}
          </div>
        );
      })}
    </div>
  );
});
