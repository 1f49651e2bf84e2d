/** Preferences: the SSL bypass list, auto-learned hosts, certificate exceptions, port, HTTP/3, capture cap. */
import './preferences.css';

export { Preferences } from './Preferences';
