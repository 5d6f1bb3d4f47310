// What the pages get from classic scripts: the Socket.IO client (/socket.io/socket.io.js) defines `io`.
/** What the server sends: events ({ eventId, orderId, … }), `resync`, and `connect_error`'s Error. */
interface LiveMessage {
  message?: string;
  eventId?: number;
  lastEventId?: number;
  orderId?: string;
  [key: string]: unknown;
}
interface LiveSocket {
  active: boolean;
  on(event: string, listener: (data: LiveMessage) => void): void;
  connect(): void;
  disconnect(): void;
}
declare function io(
  pathOrOptions?: string | Record<string, unknown>,
  options?: { auth?: (cb: (auth: Record<string, unknown>) => void) => void },
): LiveSocket;
