// K2V's errors, each with its HTTP status, mapped once. Garage answers K2V errors as JSON
// ({ code, message, region, path }); the codes are S3's where one fits.
export const K2V_ERRORS = {
  InvalidRequest: 400,
  InvalidCausalityToken: 400,
  InvalidBase64: 400,
  InvalidJson: 400,
  BatchTooLarge: 400,
  KeyTooLong: 400,
  InvalidArgument: 400,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  AccessDenied: 403,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  Conflict: 409,
  PayloadTooLarge: 413,
  InternalError: 500,
  NotImplemented: 501,
  ServiceUnavailable: 503,
} as const;

export type K2vErrorCode = keyof typeof K2V_ERRORS;

export class K2vError extends Error {
  override readonly name = 'K2vError';
  constructor(
    readonly code: K2vErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return K2V_ERRORS[this.code];
  }
}
