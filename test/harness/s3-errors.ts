// The S3Error a pure S3 core throws, for unit tests that check its code and message.
import { S3Error } from '../../src/protocols/s3/errors';

/** Runs `run` and returns the S3Error it threw; any other outcome is a test failure. */
export function s3ErrorOf(run: () => unknown): S3Error {
  try {
    run();
  } catch (error) {
    if (error instanceof S3Error) return error;
    throw error;
  }
  throw new Error('expected an S3Error');
}
