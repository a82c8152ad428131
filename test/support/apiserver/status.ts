/**
 * Kubernetes `Status` bodies (meta/v1) for failures, with the reasons and messages the real
 * API server uses, so that clients parse them exactly as they would in a cluster.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** A failure that the HTTP layer turns into a Status response (and, in watches, an ERROR event). */
export class ApiError extends Error {
  readonly status: StatusBody;
  readonly headers: Record<string, string>;

  constructor(status: StatusBody, headers: Record<string, string> = {}) {
    super(status.message);
    this.name = 'ApiError';
    this.status = status;
    this.headers = headers;
  }

  get code(): number {
    return this.status.code;
  }
}

export function statusBody(code: number, reason: string, message: string, details?: StatusDetails): StatusBody {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) body.details = details;
  return body;
}

/** `kind` in Status details is the plural resource name for these errors, as upstream does (qualifiedResource). */
function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(resource: string, group: string, name: string): ApiError {
  return new ApiError(
    statusBody(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource }),
  );
}

export function pathNotFound(): ApiError {
  return new ApiError(statusBody(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function alreadyExists(resource: string, group: string, name: string): ApiError {
  return new ApiError(
    statusBody(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, { name, group, kind: resource }),
  );
}

export function conflict(resource: string, group: string, name: string): ApiError {
  return new ApiError(
    statusBody(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group, kind: resource },
    ),
  );
}

/** 410 for a watch or list that asks for history the server no longer has. */
export function expired(message: string): ApiError {
  return new ApiError(statusBody(410, 'Expired', message));
}

export function tooOldResourceVersion(requested: string, oldestAvailable: string): ApiError {
  return expired(`too old resource version: ${requested} (${oldestAvailable})`);
}

export function invalid(kind: string, name: string, causes: StatusCause[]): ApiError {
  const summary = causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`).join(', ');
  return new ApiError(
    statusBody(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, { name, kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', ...c })) }),
  );
}

export function badRequest(message: string): ApiError {
  return new ApiError(statusBody(400, 'BadRequest', message));
}

export function methodNotAllowed(method: string): ApiError {
  return new ApiError(statusBody(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`));
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(statusBody(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType})`));
}

export function unauthorized(): ApiError {
  return new ApiError(statusBody(401, 'Unauthorized', 'Unauthorized'));
}

export function forbidden(resource: string, group: string, verb: string, namespace: string | undefined, user: string): ApiError {
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  return new ApiError(
    statusBody(
      403,
      'Forbidden',
      `${qualified(resource, group)} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
      { group, kind: resource },
    ),
  );
}

export function internalError(message: string): ApiError {
  return new ApiError(
    statusBody(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  );
}

export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(
    statusBody(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds }),
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

/** What the real server answers when a requested resourceVersion is newer than anything it has seen. */
export function resourceVersionTooLarge(requested: string, current: string): ApiError {
  return new ApiError(
    statusBody(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
    { 'Retry-After': '1' },
  );
}

/** A Status for any other code, used by fault injection (e.g. 503 or 504). */
export function genericStatus(code: number, message?: string): ApiError {
  switch (code) {
    case 403:
      return new ApiError(statusBody(403, 'Forbidden', message ?? 'forbidden: injected fault'));
    case 500:
      return internalError(message ?? 'injected fault');
    case 503:
      return new ApiError(statusBody(503, 'ServiceUnavailable', message ?? 'the server is currently unable to handle the request'));
    case 504:
      return new ApiError(statusBody(504, 'Timeout', message ?? 'the server was unable to return a response in the time allotted'));
    default:
      return new ApiError(statusBody(code, code >= 500 ? 'InternalError' : 'BadRequest', message ?? `injected status ${code}`));
  }
}
