/**
 * The session filter: free text (URL contains) and the DevTools-style properties users already
 * type (`domain:api.*`, `-domain:cdn.example.com`, `method:POST`, `status-code:4xx`,
 * `mime-type:application/json`, `larger-than:1M`, `is:error`…). Terms AND together; a leading
 * `-` negates one. A term that cannot be understood is reported in words and left out, so a typo
 * never empties the table silently.
 */
import type { FlowLike } from './api/contract';
import {
  FLOW_CATEGORIES,
  flowCategory,
  flowContentType,
  flowHost,
  flowLook,
  flowMethod,
  flowPath,
  flowResponseSize,
  flowStatus,
  flowUrl,
  isBypassed,
  isFailedHandshake,
  type FlowCategory,
} from './flow-view';
import { headerValue } from './flow';

export interface FilterProblem {
  term: string;
  message: string;
}

export interface CompiledFilter {
  /** True when the flow passes every understood term. */
  test(flow: FlowLike): boolean;
  /** Terms left out, each with why. */
  errors: FilterProblem[];
  /** No understood term: every flow passes. */
  empty: boolean;
}

type Predicate = (flow: FlowLike) => boolean;

/** The `is:` states. `paused` is a breakpoint state: valid, and true of no flow until then. */
const STATES: Record<string, Predicate> = {
  error: (f) => flowLook(f) === 'error' || isFailedHandshake(f),
  pending: (f) => f.state === 'pending',
  complete: (f) => f.state === 'complete' && !f.error,
  paused: () => false,
  bypassed: isBypassed,
  failed: isFailedHandshake,
  'handshake-failed': isFailedHandshake,
  tunnel: (f) => f.kind === 'tunnel',
  websocket: (f) => flowCategory(f) === 'websocket',
  tls: (f) => (f.kind === 'tunnel' ? f.protocol === 'tls' : f.request.url.startsWith('https:')),
};

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i;
const MULTIPLIER: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text);
  return m ? Number(m[1]) * MULTIPLIER[m[2]!.toLowerCase()]! : undefined;
}

/** A glob with `*` (any run of characters), whole-value, case-insensitive. */
function glob(pattern: string): RegExp {
  const body = pattern
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

type Compile = (value: string) => Predicate | string;

/** Each property: how its value becomes a predicate, or a sentence saying what is wrong. */
const PROPERTIES: Record<string, Compile> = {
  domain(value) {
    const re = glob(value);
    return (f) => re.test(flowHost(f));
  },
  method(value) {
    const method = value.toUpperCase();
    return /^[A-Z-]+$/.test(method)
      ? (f) => flowMethod(f) === method
      : 'takes a method such as POST';
  },
  'status-code'(value) {
    const v = value.toLowerCase();
    if (!/^[1-5][0-9x]{2}$/.test(v)) return 'takes a status such as 404 or a class such as 4xx';
    const re = new RegExp(`^${v.replace(/x/g, '\\d')}$`);
    return (f) => {
      const status = flowStatus(f);
      return status !== undefined && re.test(String(status));
    };
  },
  'mime-type'(value) {
    const re = glob(value.includes('/') || value.includes('*') ? value : `*${value}*`);
    return (f) => re.test(flowContentType(f) ?? '');
  },
  'larger-than'(value) {
    const size = parseSize(value);
    return size === undefined
      ? 'takes a size such as 1000, 10k or 1M'
      : (f) => flowResponseSize(f) > size;
  },
  'smaller-than'(value) {
    const size = parseSize(value);
    return size === undefined
      ? 'takes a size such as 1000, 10k or 1M'
      : (f) => flowResponseSize(f) < size;
  },
  is(value) {
    const state = STATES[value.toLowerCase()];
    return state ?? `takes one of ${Object.keys(STATES).join(', ')}`;
  },
  type(value) {
    const category = value.toLowerCase() as FlowCategory;
    return (FLOW_CATEGORIES as readonly string[]).includes(category)
      ? (f) => flowCategory(f) === category
      : `takes one of ${FLOW_CATEGORIES.join(', ')}`;
  },
  scheme(value) {
    const scheme = value.toLowerCase().replace(/:$/, '');
    return (f) =>
      f.kind === 'tunnel'
        ? scheme === 'tunnel'
        : f.request.url.toLowerCase().startsWith(`${scheme}:`);
  },
  path(value) {
    const v = value.toLowerCase();
    const re = v.includes('*') ? glob(v) : undefined;
    return (f) => {
      const path = flowPath(f).toLowerCase();
      return re ? re.test(path) : path.includes(v);
    };
  },
  url(value) {
    const v = value.toLowerCase();
    return (f) => flowUrl(f).toLowerCase().includes(v);
  },
  'has-response-header'(value) {
    return (f) =>
      f.kind === 'http' && !!f.response && headerValue(f.response.headers, value) !== undefined;
  },
  'has-request-header'(value) {
    return (f) => f.kind === 'http' && headerValue(f.request.headers, value) !== undefined;
  },
};

/** Other names users bring from other tools. */
const ALIASES: Record<string, string> = {
  host: 'domain',
  status: 'status-code',
  mime: 'mime-type',
  'content-type': 'mime-type',
  'resource-type': 'type',
};

/** Words before a colon that start a URL or an address, not a property: free text. */
const NOT_PROPERTIES =
  /^(https?|wss?|localhost|[\w-]*\.[\w.-]*|\d+|(?=[0-9a-f]*\d)[0-9a-f]{1,4})$/i;

/** Splits on whitespace, keeping "quoted text" (and key:"quoted value") as one term. */
export function splitTerms(text: string): string[] {
  const terms: string[] = [];
  const re = /(?:[^\s"]+|"[^"]*"?)+/g;
  for (const m of text.matchAll(re)) terms.push(m[0]);
  return terms;
}

const unquote = (s: string): string => s.replace(/^"|"$/g, '');

/** Parses and compiles `text`; cheap enough to run on every keystroke. */
export function compileFilter(text: string): CompiledFilter {
  const predicates: Predicate[] = [];
  const errors: FilterProblem[] = [];
  for (const term of splitTerms(text)) {
    if (term === '-') continue;
    const negated = term.startsWith('-') && term.length > 1;
    const body = negated ? term.slice(1) : term;
    const colon = body.indexOf(':');
    const key = colon > 0 ? body.slice(0, colon).toLowerCase() : '';
    let predicate: Predicate | string;
    if (colon > 0 && !body.startsWith('"') && !NOT_PROPERTIES.test(key)) {
      const name = ALIASES[key] ?? key;
      const compile = PROPERTIES[name];
      const value = unquote(body.slice(colon + 1));
      if (!compile) {
        errors.push({ term, message: `'${key}:' is not a filter; try ${suggest(key)}` });
        continue;
      }
      predicate = value ? compile(value) : 'needs a value';
      if (typeof predicate === 'string') {
        errors.push({ term, message: `${key}: ${predicate}` });
        continue;
      }
    } else {
      const needle = unquote(body).toLowerCase();
      if (!needle) continue;
      predicate = (f) => flowUrl(f).toLowerCase().includes(needle);
    }
    const p = predicate;
    predicates.push(negated ? (f) => !p(f) : p);
  }
  return {
    test: (flow) => predicates.every((p) => p(flow)),
    errors,
    empty: predicates.length === 0,
  };
}

/** The known property closest to a mistyped one (by shared prefix), with the list to choose from. */
function suggest(key: string): string {
  const names = Object.keys(PROPERTIES);
  let best = names[0]!;
  let bestScore = -1;
  for (const name of [...names, ...Object.keys(ALIASES)]) {
    let score = 0;
    while (score < Math.min(name.length, key.length) && name[score] === key[score]) score += 1;
    if (score > bestScore) {
      bestScore = score;
      best = ALIASES[name] ?? name;
    }
  }
  return bestScore > 0 ? `'${best}:'` : `one of ${names.map((n) => `${n}:`).join(' ')}`;
}
