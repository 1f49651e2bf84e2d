/**
 * Preferences: the SSL bypass list, auto-learned hosts, certificate exceptions, port, HTTP/3,
 * connection limits, the body and WebSocket capture caps.
 */
import './preferences.css';

export { Preferences } from './Preferences';
