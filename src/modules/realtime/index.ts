export { createRealtime, type Realtime, type RealtimeDeps } from './realtime.server.ts';
export { startOutboxRelay, type OutboxRelay, type RelayOptions } from './outbox-relay.ts';
export { READY_EVENT, RESYNC_EVENT, type ResyncMessage } from './connections.ts';
export type { OrderUpdatedEvent, PaymentUpdatedEvent, RealtimeEvent } from './events.ts';
export { createBroadcaster, type Broadcaster } from './broadcaster.ts';
// Retention (the jobs module): the oldest published events, past the replay window.
export { deletePublishedBefore } from './realtime.repository.ts';
// Tests that publish by hand number the rows as the relay would.
export { numberEvents } from './realtime.repository.ts';
