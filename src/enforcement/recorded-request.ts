import type { Redactor } from '../audit/redact.js';
import type { ActionRequest } from '../model/action-request.js';
import { copyJson, type JsonObject, type JsonValue } from '../model/json.js';
import { jsonLengthAtMost } from '../model/json-length.js';
import { differingPaths, MAX_REDACTED_PATHS, type RecordedRequest } from '../model/recorded-request.js';

/**
 * The recorded request beyond this size keeps only what conditions most often read: `context`,
 * then `relationships`, then `session` are left out (and listed as redacted) until it fits. A
 * session's history is bounded (guards/sequence.ts), but a caller's context is not.
 */
const MAX_RECORDED_CHARS = 16_384;
const DROPPABLE = ['context', 'relationships', 'session'] as const;

/**
 * What the record keeps of the request the PDP decided (model/recorded-request.ts), redacted as
 * the record is. `decidedArgs`: the arguments as decided; `loggedArgs`: the record's `args` (the
 * redaction of the arguments as they stand now, which an obligation may have changed since).
 * A copy of its own: nothing in it is the request's.
 */
export function recordedRequest(request: ActionRequest, decidedArgs: JsonObject, loggedArgs: JsonValue, redactor: Redactor, argsChanged: boolean): RecordedRequest {
  const shared = sharedRecordedRequest(request, decidedArgs, loggedArgs, redactor, argsChanged);
  shared.request = copyJson(shared.request);
  return shared;
}

/**
 * recordedRequest without the copy: its `request` may share the objects nothing was redacted in
 * with `request` (redactShared), so it is for reading only (the decision record keeps its
 * difference from a template, which copies what it keeps: model/compact-recorded-request.ts).
 * The same paths, the same JSON, member for member: a subtree that is shared is one the full copy
 * would have copied unchanged, and differingPaths finds nothing in it (it stops at identity).
 */
export function sharedRecordedRequest(request: ActionRequest, decidedArgs: JsonObject, loggedArgs: JsonValue, redactor: Redactor, argsChanged: boolean, withoutHistory = false): RecordedRequest {
  // The ids are the record's own; the arguments are the record's unless an obligation changed them.
  // `rest` is a fresh object: `kept` (rest itself when nothing was redacted) may be changed at its top level.
  const { args: _args, requestId: _id, traceId: _trace, ...rest } = request;
  // No policy in force reads the session's history (PolicySet.readsSessionHistory): its up to 20
  // entries, which would double a session's record, are left out and listed as unknown to replay.
  const leaveHistoryOut = withoutHistory && rest.session?.recent !== undefined;
  if (leaveHistoryOut) {
    const { recent: _recent, ...session } = rest.session!;
    rest.session = session as typeof rest.session;
  }
  const kept = redactor.redactShared(rest) as JsonObject;
  const paths: string[][] = [];
  let complete = differingPaths(rest, kept, [], paths);
  if (leaveHistoryOut) {
    if (paths.length < MAX_REDACTED_PATHS) paths.push(['session', 'recent']);
    else complete = false;
  }
  if (argsChanged) {
    // The record's args are what ran; the PDP's are kept here.
    const args = redactor.redactShared(decidedArgs);
    kept.args = args;
    complete = differingPaths(decidedArgs, args, ['args'], paths) && complete;
  } else {
    complete = differingPaths(decidedArgs, loggedArgs, ['args'], paths) && complete;
  }
  // Serialising the request only to learn that it fits cost as much as redacting it: a bound
  // from its lengths (model/json-length.ts) settles it for all but requests near the limit.
  let size = jsonLengthAtMost(kept, MAX_RECORDED_CHARS) ? 0 : JSON.stringify(kept).length;
  for (const part of DROPPABLE) {
    if (size <= MAX_RECORDED_CHARS) break;
    if (!(part in kept)) continue;
    size -= JSON.stringify(kept[part]).length;
    delete kept[part];
    const under = paths.filter((p) => p[0] !== part);
    paths.length = 0;
    paths.push(...under);
    if (paths.length < MAX_REDACTED_PATHS) paths.push([part]);
    else complete = false;
  }
  return { v: 1, request: kept, redacted: paths, ...(complete ? {} : { overflow: true as const }) };
}
