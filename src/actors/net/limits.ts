// Bounds and timings of connections between nodes.

export const NET_LIMITS = {
  /** A peer that has not finished the handshake by then is dropped. */
  handshakeTimeoutMs: 10_000,
  /** WebSocket close codes: 1000 normal, 1008 policy violation (bad handshake, bad frame). */
  closeCodeNormal: 1000,
  closeCodeProtocolError: 1008,
  /** WebSocket close reasons are limited to 123 bytes by the protocol. */
  closeReasonLengthMax: 120,
  /** Inbound connections that have not finished their handshake, at most (a flood costs little). */
  pendingInboundMax: 64,
  /**
   * Envelopes a new connection holds while the net actor publishes its route (one turn of that
   * actor): a peer's first burst. Past it they go through unheld.
   */
  heldEnvelopesMax: 4096,
  /**
   * How long a connection closed on purpose (a duplicate) keeps reading after it sent its close:
   * what the peer sent before it saw the close is still delivered, not dropped.
   */
  drainTimeoutMs: 5_000,
} as const;
