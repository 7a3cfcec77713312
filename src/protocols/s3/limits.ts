// Every bound on the S3 path, in one place (units last). AWS's own limits where it has one.

/** Request headers, all together (Node's HTTP parser answers 431 past it). AWS allows 8 KiB + metadata. */
export const S3_HEADER_BYTES_MAX = 16 * 1024;
/**
 * An idle keep-alive connection is closed after this long. Node's default (5 s) is shorter than
 * S3 clients expect: a client that sends its next request on a connection just as the server
 * closes it sees "socket hang up" (the AWS SDK with retries off fails outright). Past a minute,
 * clients have usually dropped the connection themselves. (The headers timeout is kept above it,
 * as Node counts it from the end of the previous request on a kept-alive connection.)
 */
export const S3_KEEP_ALIVE_IDLE_MS = 65_000;
/** XML request bodies (DeleteObjects with 1,000 keys of 1,024 bytes fits). */
export const S3_XML_BODY_BYTES_MAX = 2 * 1024 * 1024;
/** User metadata (x-amz-meta-* names and values), as AWS: 2 KB. */
export const S3_USER_METADATA_BYTES_MAX = 2 * 1024;
/** Keys per listing page and per DeleteObjects request (AWS: 1,000). */
export const S3_LIST_KEYS_MAX = 1000;
export const S3_DELETE_OBJECTS_MAX = 1000;
/** DeleteObjects deletes this many keys at once. */
export const S3_DELETE_CONCURRENCY = 8;
/** A PUT keeps at most this many blocks on their way to their holders (each block_size bytes). */
export const S3_PUT_BLOCKS_IN_FLIGHT = 3;
/**
 * Blocks one node's S3 gateway has travelling at once, all requests together, for writes and for
 * reads. Bounds the gateway's memory whatever the client concurrency (an aws cli upload sends 10
 * parts at once): each block in flight holds its bytes a few times over (block, frames per holder).
 * From 8 puts and 12 gets to 4 and 6, a 1 GiB aws cli upload's gateway peak RSS fell by 20 to 30
 * MB with no loss of throughput (the node's CPU, not these slots, bounds it on loopback).
 */
export const S3_BLOCK_PUTS_IN_FLIGHT_MAX = 4;
export const S3_BLOCK_GETS_IN_FLIGHT_MAX = 6;
/** A GET fetches this many blocks ahead of the one it is sending. */
export const S3_GET_BLOCKS_AHEAD = 2;
/** Presigned URLs live at most 7 days (AWS). */
export const S3_PRESIGNED_EXPIRY_SECONDS_MAX = 7 * 24 * 3600;
