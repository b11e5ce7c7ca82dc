/** The delivery record the hub returns from its dead-letter and lookup endpoints. */
export interface Delivery {
  id: string;
  subscriptionId?: string;
  eventSeq?: number;
  webhookId?: string;
  status?: string;
  attempts?: number;
  nextAttemptAt?: string | null;
  lastError?: string | null;
  createdAt?: string;
  updatedAt?: string;
  event?: { source?: string; id?: string; type?: string };
  attemptLog?: Attempt[];
}

/** One recorded attempt to deliver an event to a sink. */
export interface Attempt {
  n?: number;
  at?: string;
  status?: number | null;
  outcome?: string;
  latencyMs?: number | null;
  error?: string | null;
  response?: unknown;
}

/** The order delivery counts are shown in: work still to do first, then how deliveries ended. */
export const DELIVERY_STATUS_ORDER = [
  'pending',
  'retrying',
  'blocked',
  'delivered',
  'dead',
  'discarded',
  'filtered',
  'shadow',
];
