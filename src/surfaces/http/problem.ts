import type { FastifyReply } from 'fastify';
import type { ServiceError, ServiceErrorCode } from '../../services/errors.js';

/** RFC 9457 problem details: every error the API answers has this shape. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** How a service's refusal reads over HTTP. */
export const SERVICE_STATUS: Record<ServiceErrorCode, number> = { forbidden: 403, not_found: 404, conflict: 409, invalid: 400 };

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}, slug?: string): Problem {
  const title = TITLES[status] ?? 'Error';
  return { type: `https://warden.dev/problems/${slug ?? title.toLowerCase().replace(/\s+/g, '-')}`, title, status, detail, ...extra };
}

export function sendProblem(reply: FastifyReply, status: number, detail: string, extra: Record<string, unknown> = {}, slug?: string): FastifyReply {
  return reply.code(status).type('application/problem+json').send(problem(status, detail, extra, slug));
}

export function sendServiceError(reply: FastifyReply, error: ServiceError): FastifyReply {
  return sendProblem(reply, SERVICE_STATUS[error.code], error.message, error.data ?? {}, error.problem);
}
