// An HttpError carries the status and the JSON body the server answers with.
export class HttpError extends Error {
  constructor(status, body) {
    super(typeof body === 'object' && body && body.message ? body.message : String(body?.error ?? status));
    this.status = status;
    this.body = typeof body === 'object' && body !== null ? body : { error: String(body) };
  }
}

export const badRequest = (message, extra = {}) => new HttpError(400, { error: 'BadRequest', message, ...extra });
