// Names and literals of the SigV4 wire format (AWS S3 API reference, "Authenticating Requests
// (AWS Signature Version 4)").

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const ALGORITHM_CHUNK = 'AWS4-HMAC-SHA256-PAYLOAD';
export const ALGORITHM_TRAILER = 'AWS4-HMAC-SHA256-TRAILER';
export const SCOPE_TERMINATOR = 'aws4_request';
export const SERVICE_S3 = 's3';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
/** SigV4a (ECDSA) variants: recognised so they get NotImplemented rather than a format error. */
export const STREAMING_ECDSA_PREFIX = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD';

/** SHA-256 of the empty string, hex: the "previous headers" hash of every chunk string to sign. */
export const EMPTY_SHA256_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const HEADER_AUTHORIZATION = 'authorization';
export const HEADER_AMZ_DATE = 'x-amz-date';
export const HEADER_DATE = 'date';
export const HEADER_CONTENT_SHA256 = 'x-amz-content-sha256';
export const HEADER_TRAILER_SIGNATURE = 'x-amz-trailer-signature';

export const QUERY_ALGORITHM = 'X-Amz-Algorithm';
export const QUERY_CREDENTIAL = 'X-Amz-Credential';
export const QUERY_DATE = 'X-Amz-Date';
export const QUERY_EXPIRES = 'X-Amz-Expires';
export const QUERY_SIGNED_HEADERS = 'X-Amz-SignedHeaders';
export const QUERY_SIGNATURE = 'X-Amz-Signature';
export const QUERY_CONTENT_SHA256 = 'x-amz-content-sha256'; // compared case-insensitively
