// Renders the registry's actor tree as text for the CLI (`grange actors`).
import type { ActorInfo } from './types';

export function formatActorTree(roots: ActorInfo[]): string {
  const lines: string[] = [];
  const walk = (info: ActorInfo, depth: number): void => {
    const indent = '  '.repeat(depth);
    const error = info.lastError ? `  last error: ${info.lastError.message} (${new Date(info.lastError.atMs).toISOString()})` : '';
    lines.push(
      `${indent}${info.name}  [${info.kind}]  mailbox=${info.mailboxLength} processed=${info.processed} restarts=${info.restarts}${error}`,
    );
    for (const child of info.children) walk(child, depth + 1);
  };
  for (const root of roots) walk(root, 0);
  return lines.join('\n');
}

/** All actors of a tree, depth first, without their children arrays. */
export function flattenActorTree(roots: ActorInfo[]): Omit<ActorInfo, 'children'>[] {
  const flat: Omit<ActorInfo, 'children'>[] = [];
  const walk = (info: ActorInfo): void => {
    const { children, ...rest } = info;
    flat.push(rest);
    children.forEach(walk);
  };
  roots.forEach(walk);
  return flat;
}
