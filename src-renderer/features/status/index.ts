/** The status feature: the status bar and what an empty table says. */
export { StatusBar } from './StatusBar';
export { EmptyState } from './EmptyState';
