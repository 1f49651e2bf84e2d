/** The inspector: everything about the selected flow, below the session table. */
import './inspector.css';

export { Inspector } from './Inspector';
export { copyShownAsCurl } from './curl-copy';
