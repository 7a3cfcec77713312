// The node-to-node secure channel's pure core: the handshake and the frame cipher. The transport
// (sockets, timeouts) lives elsewhere and drives these functions.
export {
  FrameAuthError,
  FrameCipherClosedError,
  FrameCounterExhaustedError,
  FrameTooLargeError,
  HandshakeError,
  type HandshakeFailureReason,
} from './errors';
export {
  FRAME_ALGORITHM,
  FRAME_BYTES_MAX,
  FRAME_PLAINTEXT_BYTES_MAX,
  FRAME_TAG_BYTES,
  FrameCipher,
  type FrameAlgorithm,
} from './frame-cipher';
export {
  HANDSHAKE_MESSAGE_BYTES_MAX,
  PROTOCOL_VERSION,
  PUBLIC_ADDRESS_BYTES_MAX,
  acceptClientHello,
  ClientHandshakeState,
  completeClientHandshake,
  completeServerHandshake,
  ServerHandshakeState,
  startClientHandshake,
  type ClientHandshakeOptions,
  type HandshakeParty,
  type HandshakeResult,
  type PeerRole,
} from './handshake';
