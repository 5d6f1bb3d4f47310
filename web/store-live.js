// @ts-check
// The customer's live feed (Socket.IO, docs/api.md § Socket.IO): every change to their orders, replayed after the
// last event this tab saw. Each event makes the page read the order again, so it shows the server's state only.
import { refreshOrder, loadOrders } from './store-orders.js';
import { $, notify, returning, session } from './store-shell.js';

const EVENT_KEY = 'fulcrum.lastEventId';
/** @type {any} */
let socket = null;

function lastEventId() {
  const n = Number(sessionStorage.getItem(EVENT_KEY));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** @param {number} eventId */
function seen(eventId) {
  if (Number.isSafeInteger(eventId) && eventId > (lastEventId() ?? 0))
    sessionStorage.setItem(EVENT_KEY, String(eventId));
}

/** @param {string} text */
function setLive(text) {
  $('live').textContent = text;
}

export function connectLive() {
  const io = /** @type {any} */ (globalThis).io;
  if (socket || typeof io !== 'function' || !session.token()) {
    if (typeof io !== 'function') setLive('unavailable');
    return;
  }
  // auth as a function: every (re)connection presents the current token and where this page left off.
  socket = io({
    auth: (/** @type {(auth: object) => void} */ cb) => {
      const after = lastEventId();
      cb({ token: session.token() ?? '', ...(after === undefined ? {} : { lastEventId: after }) });
    },
  });
  socket.on('connect', () => {
    setLive('connected');
    // Anything that happened while disconnected (and before the first connection) is read again.
    void loadOrders().catch(() => undefined);
    if (returning) void refreshOrder(returning.orderId);
  });
  socket.on('disconnect', () => setLive('reconnecting…'));
  socket.on('connect_error', (/** @type {Error} */ error) => {
    setLive('offline');
    if (error?.message === 'unauthorized' && session.get()?.refreshToken) {
      session
        .refresh()
        .then(() => socket?.connect())
        .catch(() => notify('Your session has ended. Please log in again.', 'error'));
    } else if (socket && !socket.active) {
      setTimeout(() => socket?.connect(), 3000);
    }
  });
  const changed = (/** @type {{ eventId: number, orderId: string }} */ event) => {
    seen(event.eventId);
    void refreshOrder(event.orderId);
  };
  socket.on('order.updated', changed);
  socket.on('payment.updated', changed);
  socket.on('resync', (/** @type {{ lastEventId: number }} */ message) => {
    seen(message.lastEventId);
    void loadOrders().catch(() => undefined);
  });
}

export function disconnectLive() {
  socket?.disconnect();
  socket = null;
  sessionStorage.removeItem(EVENT_KEY);
}
