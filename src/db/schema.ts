import type { ColumnType, Generated, Kysely } from 'kysely';

/** The database or a transaction: repositories take either as their first argument. */
export type Executor = Kysely<DB>;

/** PostgreSQL's type id of `bigint` (int8), read as a number: counters and sums fit in a double for any real shop. */
export const INT8_OID = 20;

/** A timestamp the database fills in unless the insert gives one. */
type CreatedAt = ColumnType<Date, Date | undefined, Date>;

export type Role = 'customer' | 'support' | 'admin';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: ColumnType<Role, Role | undefined, Role>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  /** 0010: when an admin disabled the account; null while it is enabled. */
  disabled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** 0012: when the address in `email` was verified; null until then. */
  email_verified_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** 0012: the address the user asked to move to, until its verification token is used. */
  pending_email: ColumnType<string | null, string | null | undefined, string | null>;
  /** 0012: when the account was deleted (its personal data erased); null while it exists. */
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface AccountTokensTable {
  id: string;
  user_id: string;
  purpose: 'password_reset' | 'verify_email';
  token_hash: string;
  email: string | null;
  created_at: CreatedAt;
  expires_at: Date;
  used_at: Date | null;
}

export type MailStatusColumn = 'pending' | 'sent' | 'failed';

export interface MailsTable {
  id: string;
  event_key: string;
  user_id: string | null;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  status: ColumnType<MailStatusColumn, MailStatusColumn | undefined, MailStatusColumn>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  next_attempt_at: CreatedAt;
  locked_until: Date | null;
  created_at: CreatedAt;
  sent_at: Date | null;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: CreatedAt;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

// --- catalog and orders (migration 0002) ---

export type OrderStatusColumn = 'CREATED' | 'PAID' | 'SHIPPED' | 'DELIVERED' | 'CANCELLED';

export interface ProductsTable {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  price_amount: number;
  currency: string;
  stock: number;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  /** 0009: a path served by Fulcrum or an https URL. */
  image_url: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

/** 0013: an uploaded product image (one per product), served at /api/v1/products/:id/image. */
export interface ProductImagesTable {
  product_id: string;
  content_type: 'image/png' | 'image/jpeg' | 'image/webp';
  bytes: Uint8Array;
  /** Hex digest prefix of the bytes: the ETag and the `v` of the product's imageUrl. */
  etag: string;
  created_at: Date;
}

export interface OrdersTable {
  id: string;
  user_id: string;
  status: OrderStatusColumn;
  currency: string;
  total_amount: number;
  refunded_amount: ColumnType<number, number | undefined, number>;
  /** jsonb: written as a JSON string, read back parsed. */
  shipping_address: ColumnType<unknown, string | null, string | null>;
  carrier: string | null;
  tracking_number: string | null;
  shipped_at: Date | null;
  delivered_at: Date | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  expires_at: Date;
  paid_at: Date | null;
  cancelled_at: Date | null;
  cancellation_reason: string | null;
  stock_released_at: Date | null;
  /** 0011: increased by a trigger on every update of the row; never written by the application. */
  version: ColumnType<number, never, never>;
}

export interface OrderItemsTable {
  order_id: string;
  line_no: number;
  product_id: string;
  sku: string;
  name: string;
  quantity: number;
  unit_amount: number;
  line_total: number;
}

export interface OrderEventsTable {
  order_id: string;
  seq: number;
  type: string;
  from_status: OrderStatusColumn | null;
  to_status: OrderStatusColumn;
  actor: string;
  reason: string | null;
  at: Date;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  method: string;
  route: string;
  fingerprint: string;
  state: 'in_progress' | 'done';
  response_status: number | null;
  response_body: ColumnType<unknown, string | null, string | null>;
  locked_until: Date | null;
  lease_id: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface UserEventCountersTable {
  user_id: string;
  last_event_id: number;
}

export interface OutboxTable {
  id: Generated<number>;
  user_id: string;
  /** 0015: the user's eventId, given by the relay as it publishes (realtime.repository.ts); null before. */
  event_id: ColumnType<number | null, number | null | undefined, number | null>;
  type: 'order.updated' | 'payment.updated';
  payload: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
  published_at: Date | null;
  /** Set once RabbitMQ confirmed the message (migration 0004); published_at is the Socket.IO sink's. */
  amqp_published_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Set once the worker made the event's mails, or found it needs none (migration 0012). */
  mailed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** 0011: the row's number in the staff feed, given by the relay as it publishes to sockets; null before. */
  staff_seq: ColumnType<number | null, never, number | null>;
}

// --- payments, refunds, webhook inbox, job state (migration 0003) ---

/** A provider's name (the payments runtime's set, src/modules/payments/providers/provider-set.ts); the application validates it. */
export type PaymentProviderColumn = string;
export type PaymentStatusColumn =
  'PENDING' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED' | 'CANCELED' | 'PARTIALLY_REFUNDED' | 'REFUNDED';

export interface PaymentsTable {
  id: string;
  order_id: string;
  user_id: string;
  provider: PaymentProviderColumn;
  status: PaymentStatusColumn;
  amount: number;
  currency: string;
  refunded_amount: ColumnType<number, number | undefined, number>;
  gateway_session_id: string | null;
  gateway_payment_intent_id: string | null;
  checkout_url: string | null;
  session_expires_at: Date | null;
  failure_reason: string | null;
  flagged_reason: string | null;
  /** Money received that is not the order's payment (flagged, or late), as it arrived (migration 0007). */
  captured_amount: number | null;
  captured_currency: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  succeeded_at: Date | null;
  reconciled_at: Date | null;
}

export type RefundStatusColumn = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface RefundsTable {
  id: string;
  payment_id: string;
  gateway_refund_id: string | null;
  amount: number;
  currency: string;
  status: RefundStatusColumn;
  reason: string | null;
  failure_reason: string | null;
  initiated_by: string;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export type InboxStatusColumn = 'pending' | 'processed' | 'failed' | 'dead';

export interface WebhookInboxTable {
  id: string;
  provider: string;
  event_id: string;
  type: string;
  /** jsonb: written as a JSON string, read back parsed. */
  payload: ColumnType<unknown, string, string>;
  status: ColumnType<InboxStatusColumn, InboxStatusColumn | undefined, InboxStatusColumn>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  outcome: string | null;
  next_attempt_at: Date;
  locked_until: Date | null;
  lease_id: string | null;
  received_at: Date;
  processed_at: Date | null;
}

export interface JobStateTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: CreatedAt;
}

export interface DB {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  account_tokens: AccountTokensTable;
  mails: MailsTable;
  products: ProductsTable;
  product_images: ProductImagesTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  order_events: OrderEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  user_event_counters: UserEventCountersTable;
  outbox: OutboxTable;
  payments: PaymentsTable;
  refunds: RefundsTable;
  webhook_inbox: WebhookInboxTable;
  job_state: JobStateTable;
}

export type { Generated };
