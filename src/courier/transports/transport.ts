import type { Redactor } from '../redact.ts';

/** What a transport delivers: one rendered message to exactly one recipient. */
export interface OutgoingMessage {
  id: string;
  recipient: string;
  subject: string;
  text: string;
  html?: string | null;
  templateType: string;
  templateData?: Record<string, unknown> | null;
}

export interface Transport {
  readonly name: 'smtp' | 'http';
  /** Resolves once the server accepted the message; rejects with a DeliveryError otherwise. */
  send(message: OutgoingMessage): Promise<void>;
  /** Redacts the transport's credentials from any text (errors, logs). */
  readonly redactor: Redactor;
  /** Checks that the server is reachable again without sending anything (SMTP: connect, EHLO, TLS, AUTH). */
  probe?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A failed delivery. `permanent` failures (the server refused the recipient) are not retried; `outage` failures
 * (no answer, connection refused, 421/502/503/504) say nothing about the message, only that the server is away.
 */
export class DeliveryError extends Error {
  readonly permanent: boolean;
  readonly outage: boolean;
  constructor(message: string, options: { permanent?: boolean; outage?: boolean } = {}) {
    super(message);
    this.name = 'DeliveryError';
    this.permanent = options.permanent ?? false;
    this.outage = options.outage ?? false;
  }
}
