// @ts-check
// The staff feed (`/staff` namespace, docs/api.md § The staff feed): every order's updates, live, replayed after
// the last event this tab saw when the connection comes back.
import { $, isStaff, session } from './admin-shell.js';

const EVENT_KEY = 'fulcrum.admin.staffEventId';
let socket = null;
const listeners = { change: new Set(), resync: new Set() };

const lastEventId = () => {
  const value = Number(sessionStorage.getItem(EVENT_KEY));
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
};
const remember = (eventId) => {
  if (Number.isSafeInteger(eventId) && eventId > (lastEventId() ?? 0))
    sessionStorage.setItem(EVENT_KEY, String(eventId));
};
const setLive = (text) => {
  $('live').textContent = text;
};

/** `on('change', ({ orderId, status }) => …)` for every order event; `on('resync', () => …)` to reload all. */
export function onLive(kind, listener) {
  listeners[kind].add(listener);
}

export function connectStaffFeed() {
  if (socket || !isStaff()) return;
  if (typeof io !== 'function') return setLive('Live updates unavailable');
  socket = io('/staff', {
    auth: (cb) => {
      const auth = { token: session.token() ?? '' };
      const after = lastEventId();
      if (after !== undefined) auth.lastEventId = after;
      cb(auth);
    },
  });
  socket.on('connect', () => setLive('Live'));
  socket.on('disconnect', () => setLive('Reconnecting…'));
  socket.on('connect_error', (error) => {
    setLive('Offline');
    if (error?.message === 'unauthorized' && session.get()?.refreshToken) {
      session
        .refresh()
        .then(() => socket?.connect())
        .catch(() => undefined);
    } else if (socket && !socket.active) setTimeout(() => socket?.connect(), 3000);
  });
  const changed = (event) => {
    remember(event.eventId);
    for (const listener of listeners.change) listener(event);
  };
  socket.on('order.updated', changed);
  socket.on('payment.updated', changed);
  socket.on('resync', (message) => {
    remember(message.lastEventId);
    for (const listener of listeners.resync) listener();
  });
}

export function disconnectStaffFeed() {
  socket?.disconnect();
  socket = null;
  sessionStorage.removeItem(EVENT_KEY);
  setLive('');
}
