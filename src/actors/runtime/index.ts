// Public surface of the actor runtime. Nothing outside this folder imports nact.
export { ActorSystem, replyToOf, type ActorSystemOptions } from './system';
export * from './types';
export * from './errors';
export * from './supervision';
export * from './worker';
export { formatActorTree, flattenActorTree } from './tree';
