// A flag that can only go from false to true (Garage uses it for "deleted" marks): merge is or.
import { booleanCodec, type Crdt } from './crdt';

export const boolCrdt: Crdt<boolean> = {
  merge: (a, b) => a || b,
  toWire: booleanCodec.toWire,
  fromWire: booleanCodec.fromWire,
};
