// A map whose every key is an LWW register: concurrent writes to different keys both survive,
// writes to one key resolve as the register does. Keys are strings (binary ids go hex-encoded)
// and are never removed: to delete, store a tombstone value (a nullable or Deletable value).
// Wire form: `[[key, timestamp, value], ...]` sorted by key.
import { malformed, sortedKeys, stringCodec, type Codec, type Crdt } from './crdt';
import { lwwNew, lwwRegister, lwwUpdate, mergeLww, type Lww } from './lww';

export type LwwMap<V> = ReadonlyMap<string, Lww<V>>;

/** The map with `key` set to `value`, written after whatever the map held for it. */
export function lwwMapSet<V>(map: LwwMap<V>, key: string, value: V, nowMs: number): LwwMap<V> {
  const current = map.get(key);
  const next = new Map(map);
  next.set(key, current === undefined ? lwwNew(value, nowMs) : lwwUpdate(current, value, nowMs));
  return next;
}

export function lwwMapGet<V>(map: LwwMap<V>, key: string): V | undefined {
  return map.get(key)?.value;
}

export function mergeLwwMaps<V>(codec: Codec<V>, a: LwwMap<V>, b: LwwMap<V>): LwwMap<V> {
  const merged = new Map(a);
  for (const [key, register] of b) {
    const mine = merged.get(key);
    merged.set(key, mine === undefined ? register : mergeLww(codec, mine, register));
  }
  return merged;
}

export function lwwMap<V>(codec: Codec<V>): Crdt<LwwMap<V>> {
  const register = lwwRegister(codec);
  return {
    merge: (a, b) => mergeLwwMaps(codec, a, b),
    toWire: (map) =>
      sortedKeys(map).map((key) => {
        const entry = map.get(key)!;
        return [key, entry.timestamp, codec.toWire(entry.value)];
      }),
    fromWire(raw) {
      if (!Array.isArray(raw)) throw malformed('LWW map: expected a list');
      const map = new Map<string, Lww<V>>();
      for (const item of raw as unknown[]) {
        if (!Array.isArray(item) || item.length !== 3) throw malformed('LWW map: expected [key, timestamp, value]');
        const key = stringCodec.fromWire(item[0]);
        if (map.has(key)) throw malformed(`LWW map: key ${JSON.stringify(key)} twice`);
        map.set(key, register.fromWire([item[1], item[2]]));
      }
      return map;
    },
  };
}
