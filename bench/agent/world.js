/**
 * The "outside world" of the compromised-agent benchmark: one HTTP tool service on 127.0.0.1
 * (port 0) that Warden calls for every tool. Each task sets what the tools answer before it runs
 * (tasks run one at a time); every call that reaches the service is recorded — a call recorded
 * here was EXECUTED, which is what attack success counts.
 */
import { createServer } from 'node:http';

export async function startWorld() {
  const executed = [];
  let answers = {};
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const tool = decodeURIComponent((req.url ?? '').replace(/^\/tools\//, ''));
      let args;
      try {
        args = body ? JSON.parse(body) : {};
      } catch {
        args = { unparsed: body };
      }
      executed.push({ tool, args });
      const answer = tool in answers ? answers[tool] : { ok: true };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    executed,
    /** What each tool answers during the next task (a tool not listed answers {ok: true}). */
    setAnswers(next) {
      answers = next;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
