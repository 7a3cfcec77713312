// The shapes shared by the SigV4 core and the HTTP server that drives it.

export interface SignedRequest {
  method: string;
  /** Path exactly as on the wire, percent-encoded as the client sent it, no query. */
  rawPath: string;
  /** Everything after '?', as sent ('' when none). */
  rawQuery: string;
  /** Lowercase names; Node joins duplicates with ', '. */
  headers: Readonly<Record<string, string>>;
}

export type PayloadMode =
  | { kind: 'sha256'; hex: string }
  | { kind: 'unsigned' }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

export interface Credential {
  accessKeyId: string;
  /** YYYYMMDD */
  date: string;
  region: string;
  service: string;
}

export type ParsedAuth =
  | { kind: 'anonymous' }
  | {
      kind: 'header' | 'presigned';
      credential: Credential;
      signedHeaders: string[];
      signature: string;
      /** ISO 8601 basic, e.g. 20130524T000000Z */
      amzDate: string;
      payload: PayloadMode;
      expiresSeconds?: number;
    };

export type SignedAuth = Exclude<ParsedAuth, { kind: 'anonymous' }>;

/** What the chunk decoder needs to check chunk and trailer signatures. */
export interface SigningContext {
  signingKey: Buffer;
  seedSignature: string;
  amzDate: string;
  scope: string;
}

export interface ChunkDecoder {
  /** Raw body bytes in any split; returns payload bytes. Throws S3Error on bad framing or signature. */
  push(bytes: Buffer): Buffer[];
  /** The body has ended; throws IncompleteBody if it stopped early. */
  end(): { trailers: Record<string, string> };
}

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256';

export interface PayloadVerifier {
  update(bytes: Buffer): void;
  /** `trailers` are the decoder's, if any. */
  end(trailers?: Record<string, string>): {
    md5Hex: string;
    checksum: { algorithm: ChecksumAlgorithm; base64: string } | null;
  };
}
