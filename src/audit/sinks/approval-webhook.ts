import type { DecisionRecord } from '../../store/records.js';
import { approvalLink, approvalNotice, jsonMessage, slackMessage, type ApprovalNotice } from './approval-message.js';
import { DeliveryError, failureText, type SinkDestination } from './destination.js';
import { describeUrl, postOrThrow, type HeaderSource, type UrlSource } from './http-post.js';

export interface ApprovalWebhookOptions {
  /** The URL as configured (secret references unresolved): what logs and /readyz show. */
  urlText: string;
  url: UrlSource;
  headers: HeaderSource;
  format: 'slack' | 'json';
  /** Which notices are sent: new approvals, approved or denied ones, expired ones. */
  events: ReadonlyArray<'pending' | 'decided' | 'expired'>;
  includeArguments: boolean;
  /** `server.public_url`: links point into its dashboard (none without it). */
  publicUrl?: string;
  timeoutMs: number;
  /** Counts each notification sent. */
  onSent?: (notice: ApprovalNotice) => void;
}

/**
 * Approval notifications as a sink of the decision log: the records that open or settle an
 * approval become one POST each, in order. Driven by the log and a durable cursor, a
 * notification survives a restart and a webhook that is down, and never holds up a call.
 */
export class ApprovalWebhook implements SinkDestination {
  readonly type = 'webhook';
  readonly target: string;

  constructor(private readonly o: ApprovalWebhookOptions) {
    this.target = describeUrl(o.urlText);
  }

  async deliver(records: readonly DecisionRecord[]): Promise<void> {
    for (const [i, record] of records.entries()) {
      const notice = approvalNotice(record);
      if (!notice || !this.o.events.includes(notice.event === 'pending' || notice.event === 'expired' ? notice.event : 'decided')) continue;
      const link = approvalLink(this.o.publicUrl, notice.approvalId);
      const message = this.o.format === 'slack' ? slackMessage(notice, link, this.o.includeArguments) : jsonMessage(notice, link, this.o.includeArguments);
      try {
        await postOrThrow(await this.o.url(), JSON.stringify(message), { ...(await this.o.headers()), 'content-type': 'application/json' }, this.o.timeoutMs);
      } catch (e) {
        // The records before this one are done (sent, or nothing to say).
        throw new DeliveryError(i, `approval ${notice.approvalId}: ${failureText(e)}`, { cause: e });
      }
      this.o.onSent?.(notice);
    }
  }

  async close(): Promise<void> {}
}
