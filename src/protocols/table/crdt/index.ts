// CRDT building blocks of table entries. Each is a `Crdt<T>`: merge plus canonical wire form.
export {
  booleanCodec,
  bytesCodec,
  compareKeys,
  compareValues,
  encodeValue,
  integerCodec,
  nullableCodec,
  stringCodec,
  valuesEqual,
  wireValueCodec,
  type Codec,
  type Crdt,
} from './crdt';
export { boolCrdt } from './bool';
export { deletable, DELETED, isDeleted, present, type Deletable } from './deletable';
export { lwwMap, lwwMapGet, lwwMapSet, mergeLwwMaps, type LwwMap } from './lww-map';
export { lwwNew, lwwRegister, lwwUpdate, mergeLww, type Lww } from './lww';
export { mergedMap, mergedMapPut, type MergedMap } from './merged-map';
