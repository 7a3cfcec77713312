// Exit codes and the CLI's own named errors.

/** Bad input from the operator: config, flags, arguments. */
export const EXIT_USAGE = 2;
/** Anything else that went wrong (a node unreachable, a disk error). */
export const EXIT_FAILURE = 1;

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}
