/** The sessions feature: the flow table and its column chooser. */
export { SessionTable } from './SessionTable';
export { ColumnMenu } from './ColumnMenu';
