/** The hosts feature: the sidebar of hosts with their counts. */
export { HostSidebar } from './HostSidebar';
