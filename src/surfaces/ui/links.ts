/** The dashboard's addresses for one request and one session (hash routes, see main.tsx). */
export const requestHref = (requestId: string) => `#/requests/${encodeURIComponent(requestId)}`;
export const sessionHref = (sessionId: string) => `#/sessions/${encodeURIComponent(sessionId)}`;
