// The shapes every actor is written against. An actor kind is a definition (data plus a few
// functions); the runtime owns mailboxes, supervision, timers and the registry.
import type { Logger } from '../../log';
import type { SupervisionPolicy } from './supervision';

/**
 * The address of an actor: a path, and the node it lives on when it is remote. Plain data, so a
 * ref can travel inside a message (as `replyTo`) to another node. `M` is the message union the
 * actor accepts; it exists only for the type checker.
 */
export interface Ref<M> {
  readonly node?: string;
  readonly path: string;
  /** Phantom field: never set, only ties the ref to its message type. */
  readonly __message?: (message: M) => void;
}

/** Any ref, whatever it accepts (a ref is contravariant in its message type). */
export type AnyRef = Ref<never>;

/** Outcome of asynchronous work piped back to an actor as a message. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Which queue a message to another node waits in: interactive asks overtake bulk transfers. */
export type Priority = 'interactive' | 'background';

export interface DeliveryOptions {
  priority?: Priority;
}

export interface TimerOptions {
  /** Fire every `delayMs` until cancelled, instead of once. */
  repeat?: boolean;
}

/** What an actor can do, during init and while handling a message. */
export interface InitContext<M, C> {
  readonly self: Ref<M>;
  readonly parent: AnyRef | null;
  readonly path: string;
  readonly name: string;
  readonly components: C;
  readonly log: Logger;
  tell<T>(ref: Ref<T>, message: T, options?: DeliveryOptions): void;
  ask<T, R>(ref: Ref<T>, makeMessage: (replyTo: Ref<R>) => T, timeoutMs: number, options?: DeliveryOptions): Promise<R>;
  /** Answers an ask with an error: the asker's promise rejects with it. */
  replyError(replyTo: AnyRef, error: Error): void;
  spawn<CM, CS, CC>(definition: ActorDefinition<CM, CS, CC>, name: string, components: CC): Ref<CM>;
  /** Stops a child and, first, all of its descendants. */
  stopChild(name: string): void;
  child<T>(name: string): Ref<T> | null;
  childNames(): string[];
  /**
   * Starts asynchronous work and delivers its outcome to this actor as a message, so a handler
   * never awaits: the mailbox keeps moving while the work is under way.
   */
  pipeToSelf<T>(work: Promise<T>, toMessage: (outcome: Outcome<T>) => M): void;
  /** A timer owned by this actor: cancelled when the actor stops or restarts. Same key replaces. */
  startTimer(key: string, delayMs: number, message: M, options?: TimerOptions): void;
  cancelTimer(key: string): void;
}

export interface ActorContext<M, S, C> extends InitContext<M, C> {
  /** The actor's state: handlers change it in place or replace it. */
  state: S;
}

export interface ActorDefinition<M, S, C> {
  /** The kind shown by inspection: one kind per file. */
  readonly kind: string;
  /**
   * The message `type`s other nodes may send this actor. Without it the actor is unreachable from
   * the network; a message of another type is answered with UnknownMessageTypeError.
   */
  readonly remote?: { readonly accepts: readonly string[] };
  /** What happens when a handler (or init, on restart) throws. Default: stop. */
  readonly supervision?: SupervisionPolicy;
  init(context: InitContext<M, C>): S;
  /** A short, synchronous state transition. Asynchronous work goes through pipeToSelf. */
  handle(message: M, context: ActorContext<M, S, C>): void;
  /** Releases what the actor holds (sockets, files); runs on stop and before a restart. */
  cleanup?(context: ActorContext<M, S, C>): void | Promise<void>;
  /** A small summary for inspection. */
  status?(context: ActorContext<M, S, C>): Record<string, unknown>;
}

export function defineActor<M, S, C = Record<string, never>>(definition: ActorDefinition<M, S, C>): ActorDefinition<M, S, C> {
  return definition;
}

/** What inspection shows of one live actor. */
export interface ActorInfo {
  path: string;
  name: string;
  kind: string;
  parent: string | null;
  mailboxLength: number;
  processed: number;
  failures: number;
  restarts: number;
  lastError: { message: string; atMs: number } | null;
  status: Record<string, unknown> | null;
  children: ActorInfo[];
}

/** Delivery to actors on other nodes; installed by the cluster fabric. */
export interface RemoteDelivery {
  tell(ref: AnyRef, message: unknown, options?: DeliveryOptions): void;
  replyError(ref: AnyRef, error: Error): void;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected message: ${JSON.stringify(value)}`);
}
