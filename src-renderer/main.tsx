/**
 * The renderer's entry (bundled by scripts/build.js into out/renderer/app.js, a classic script;
 * importing the stylesheet makes esbuild emit app.css next to it).
 */
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { start } from './app/boot';
import './styles.css';

start();
createRoot(document.getElementById('root')!).render(<App />);
