// Named errors of the actor runtime. Callers branch on the class, never on message text.

export class AskTimeoutError extends Error {
  override readonly name = 'AskTimeoutError';
  constructor(readonly targetPath: string, readonly timeoutMs: number) {
    super(`ask to ${targetPath} timed out after ${timeoutMs} ms`);
  }
}

/** The target of a tell or ask is not (or no longer) alive. */
export class ActorNotFoundError extends Error {
  override readonly name = 'ActorNotFoundError';
  constructor(readonly targetPath: string) {
    super(`no live actor at ${targetPath}`);
  }
}

/** The handler that was processing an ask's message threw: the asker learns at once. */
export class ActorCrashedError extends Error {
  override readonly name = 'ActorCrashedError';
  constructor(readonly actorPath: string, readonly causeMessage: string) {
    super(`actor ${actorPath} failed while handling the request: ${causeMessage}`);
  }
}

/** The system shut down while an ask was waiting. */
export class ActorSystemStoppedError extends Error {
  override readonly name = 'ActorSystemStoppedError';
  constructor() {
    super('actor system stopped');
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A message from another node named an actor that does not accept that message type. */
export class UnknownMessageTypeError extends Error {
  override readonly name = 'UnknownMessageTypeError';
  constructor(readonly targetPath: string, readonly messageType: string) {
    super(`actor ${targetPath} does not accept messages of type ${JSON.stringify(messageType)} from other nodes`);
  }
}

/** An error raised on another node, carried back by name and message. */
export class RemoteError extends Error {
  constructor(readonly remoteName: string, message: string) {
    super(message);
    this.name = remoteName;
  }
}
