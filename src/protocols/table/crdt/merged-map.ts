// A map of CRDT values merged key by key; keys are never removed (a value may be a Deletable to
// mark one gone). Used where every key's value converges by itself, e.g. a version's blocks or a
// bucket's per-key permissions. Keys are strings (binary ids go hex-encoded).
// Wire form: `[[key, value], ...]` sorted by key.
import { malformed, sortedKeys, stringCodec, type Crdt } from './crdt';

export type MergedMap<V> = ReadonlyMap<string, V>;

/** The map with `value` merged into what it held for `key` (`valueCrdt` is the values' CRDT). */
export function mergedMapPut<V>(valueCrdt: Crdt<V>, map: MergedMap<V>, key: string, value: V): MergedMap<V> {
  const current = map.get(key);
  const next = new Map(map);
  next.set(key, current === undefined ? value : valueCrdt.merge(current, value));
  return next;
}

export function mergedMap<V>(inner: Crdt<V>): Crdt<MergedMap<V>> {
  return {
    merge(a, b) {
      const merged = new Map(a);
      for (const [key, value] of b) {
        const mine = merged.get(key);
        merged.set(key, mine === undefined ? value : inner.merge(mine, value));
      }
      return merged;
    },
    toWire: (map) => sortedKeys(map).map((key) => [key, inner.toWire(map.get(key)!)]),
    fromWire(raw) {
      if (!Array.isArray(raw)) throw malformed('merged map: expected a list');
      const map = new Map<string, V>();
      for (const item of raw as unknown[]) {
        if (!Array.isArray(item) || item.length !== 2) throw malformed('merged map: expected [key, value]');
        const key = stringCodec.fromWire(item[0]);
        if (map.has(key)) throw malformed(`merged map: key ${JSON.stringify(key)} twice`);
        map.set(key, inner.fromWire(item[1]));
      }
      return map;
    },
  };
}
