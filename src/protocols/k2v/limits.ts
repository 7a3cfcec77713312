// Bounds of the K2V API (Garage's where it has one).
export const K2V_LIMITS = {
  /** A token lists a (node, time) pair per node that ever wrote the item: a few, never many. */
  causalityTokenCharsMax: 4096,
  /** Partition and sort keys: utf8 strings, bounded by the table core's key sizes. */
  partitionKeyBytesMax: 1024,
  sortKeyBytesMax: 1024,
  /** One value (InsertItem body, or one decoded value of a batch). */
  valueBytesMax: 1024 * 1024,
  /** Items of one InsertBatch, searches of one ReadBatch or DeleteBatch. */
  batchItemsMax: 1000,
  /** A batch request's JSON body. */
  batchBodyBytesMax: 16 * 1024 * 1024,
  /** Items one search returns at most (its limit, or this when larger or absent). */
  searchItemsMax: 1000,
  /** PollItem's timeout: 300 s by default, 600 s at most (the spec). */
  pollTimeoutDefaultSeconds: 300,
  pollTimeoutMaxSeconds: 600,
} as const;
