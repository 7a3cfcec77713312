// A value that can be deleted for good: Present(value) or Deleted. Merge: Deleted wins over
// anything (a deletion is final: a late write of the old value cannot resurrect it); two Present
// values merge with the inner CRDT. So a key that may come back after deletion needs a fresh
// identity (a new id), which is how buckets and versions are deleted in Garage too.
// Wire form: `[0]` for Deleted, `[1, value]` for Present.
import { malformed, type Crdt } from './crdt';

export type Deletable<T> = { readonly kind: 'present'; readonly value: T } | { readonly kind: 'deleted' };

export const DELETED: Deletable<never> = Object.freeze({ kind: 'deleted' });

export function present<T>(value: T): Deletable<T> {
  return { kind: 'present', value };
}

export function isDeleted<T>(value: Deletable<T>): value is { readonly kind: 'deleted' } {
  return value.kind === 'deleted';
}

export function deletable<T>(inner: Crdt<T>): Crdt<Deletable<T>> {
  return {
    merge(a, b) {
      if (a.kind === 'deleted') return a;
      if (b.kind === 'deleted') return b;
      return present(inner.merge(a.value, b.value));
    },
    toWire: (value) => (value.kind === 'deleted' ? [0] : [1, inner.toWire(value.value)]),
    fromWire(raw) {
      if (Array.isArray(raw) && raw.length === 1 && raw[0] === 0) return DELETED;
      if (Array.isArray(raw) && raw.length === 2 && raw[0] === 1) return present(inner.fromWire(raw[1]));
      throw malformed('Deletable: expected [0] or [1, value]');
    },
  };
}
