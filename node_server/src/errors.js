// An HttpError carries the status and the JSON body the server answers with.
export class HttpError extends Error {
  constructor(status, body) {
    super(typeof body === 'object' && body && body.message ? body.message : String(body?.error ?? status));
    this.status = status;
    this.body = typeof body === 'object' && body !== null ? body : { error: String(body) };
  }
}

export const badRequest = (message, extra = {}) => new HttpError(400, { error: 'BadRequest', message, ...extra });

/**
 * The database could not be reached, or dropped the connection in the middle of a request.
 * Answered with 503: clients retry on 5xx (Replicache with backoff). A transaction cut this way
 * committed as a whole or not at all, and a retried push is deduplicated by lastMutationID.
 */
export class StorageUnavailableError extends HttpError {
  constructor(message, cause) {
    super(503, { error: 'StorageUnavailable', message });
    this.cause = cause;
  }
}
