// @ts-check
// Shared by the storefront and the admin dashboard: a JSON client with token refresh, and DOM helpers
// that only ever put text into the page (textContent), never markup built from data.

const API = '/api/v1';

/** An API answer that was not 2xx: `detail` (from problem+json) is what the user is shown. */
export class ApiError extends Error {
  constructor(status, problem) {
    const detail =
      problem && typeof problem === 'object'
        ? problem.detail || problem.title || `Request failed (${status}).`
        : `Request failed (${status}).`;
    const fieldErrors =
      problem && Array.isArray(problem.errors)
        ? problem.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; ')
        : '';
    super(fieldErrors ? `${detail} (${fieldErrors})` : detail);
    this.status = status;
    this.code = problem && typeof problem === 'object' ? problem.code : undefined;
    this.problem = problem;
  }
}

/** Tokens live in sessionStorage under `key`: `{ accessToken, refreshToken, user }`. */
export function createSession(key) {
  let refreshing = null;
  const listeners = new Set();

  const read = () => {
    try {
      const raw = sessionStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  };
  const write = (value) => {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
    for (const listener of listeners) listener(value);
  };

  /**
   * @param {string} method
   * @param {string} path
   * A Blob body (an image upload) is sent as its bytes with its own type; anything else as JSON.
   * @param {{ body?: unknown, idempotencyKey?: string, token?: string | null, ifMatch?: number }} [options]
   */
  async function send(method, path, { body, idempotencyKey, token, ifMatch } = {}) {
    const headers = { Accept: 'application/json' };
    const bytes = body instanceof window.Blob;
    if (body !== undefined) headers['Content-Type'] = bytes ? body.type : 'application/json';
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    // The version the page shows: the API refuses the change (412, with the order as it is now) if it moved on.
    if (ifMatch !== undefined) headers['If-Match'] = `"${ifMatch}"`;
    if (token) headers.Authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch(`${API}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : bytes ? body : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, { detail: 'The shop cannot be reached. Check your connection and try again.' });
    }
    const text = await res.text();
    let data = null;
    if (text !== '') {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  /** One refresh at a time; a failed refresh logs out. */
  function refresh() {
    if (refreshing) return refreshing;
    const current = read();
    if (!current || !current.refreshToken) return Promise.reject(new ApiError(401, { detail: 'Please log in.' }));
    refreshing = send('POST', '/auth/refresh', { body: { refreshToken: current.refreshToken } })
      .then((pair) => {
        const next = { ...read(), accessToken: pair.accessToken, refreshToken: pair.refreshToken };
        if (pair.user) next.user = pair.user;
        write(next);
        return next.accessToken;
      })
      .catch((error) => {
        write(null);
        throw new ApiError(401, { detail: 'Your session has ended. Please log in again.', code: error.code });
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  return {
    get: read,
    onChange: (listener) => listeners.add(listener),
    token: () => read()?.accessToken ?? null,
    user: () => read()?.user ?? null,
    refresh,
    /** Calls the API without a token (public routes: password reset, e-mail verification). */
    send: (method, path, options = {}) => send(method, path, { ...options, token: undefined }),
    /** Calls the API as the logged-in user; on 401 token_expired, refreshes once and retries. */
    async call(method, path, options = {}) {
      const token = read()?.accessToken;
      try {
        return await send(method, path, { ...options, token });
      } catch (error) {
        if (error instanceof ApiError && error.status === 401 && error.code === 'token_expired' && token) {
          const fresh = await refresh();
          return send(method, path, { ...options, token: fresh });
        }
        throw error;
      }
    },
    async login(email, password) {
      const answer = await send('POST', '/auth/login', { body: { email, password } });
      write({ accessToken: answer.accessToken, refreshToken: answer.refreshToken, user: answer.user });
      return answer.user;
    },
    /** Keeps a session the API answered with elsewhere (the first admin's setup). */
    adopt(answer) {
      write({ accessToken: answer.accessToken, refreshToken: answer.refreshToken, user: answer.user });
      return answer.user;
    },
    async register(email, password, name) {
      const answer = await send('POST', '/auth/register', { body: { email, password, name } });
      write({ accessToken: answer.accessToken, refreshToken: answer.refreshToken, user: answer.user });
      return answer.user;
    },
    async logout() {
      const current = read();
      write(null);
      if (current?.refreshToken) {
        await send('POST', '/auth/logout', { body: { refreshToken: current.refreshToken } }).catch(() => undefined);
      }
    },
  };
}

/** `el('td', { className: 'x' }, 'text', child)`: children are nodes or strings (as text). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** `{ amount, currency }` in minor units, formatted by the currency's own exponent. */
export function money(value) {
  if (!value || typeof value.amount !== 'number') return '';
  const currency = String(value.currency || 'usd').toUpperCase();
  try {
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(value.amount / 10 ** digits);
  } catch {
    return `${value.amount} ${currency}`;
  }
}

export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString();
}

/** A status message area: `show(text, 'error' | 'ok' | 'info')`. */
export function notifier(node) {
  return (text, kind = 'info') => {
    node.textContent = text;
    node.className = `notice ${kind}`;
    node.hidden = text === '';
  };
}

/** Runs an async action from a button, disabling it meanwhile and reporting errors. */
export function busy(button, action, report) {
  return async (event) => {
    event?.preventDefault?.();
    if (button) button.disabled = true;
    try {
      await action();
    } catch (error) {
      report(error instanceof Error ? error.message : String(error), 'error');
    } finally {
      if (button) button.disabled = false;
    }
  };
}

/**
 * Puts `order` in `map` unless the map already holds a newer version of it: a late answer never puts an older
 * state back. Nothing happens without a map.
 * @template {{ id: string, version: number }} T
 * @param {Map<string, T> | null} map
 * @param {T} order
 */
export function keepNewer(map, order) {
  if (!map) return;
  const known = map.get(order.id);
  if (!known || known.version <= order.version) map.set(order.id, order);
}
