/** Bumped on any incompatible change; checked at the agent handshake. */
export const PROTOCOL_VERSION = 1;
/** Largest socket.io message either side accepts, in bytes. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** An agent's handshake signature is refused when its timestamp is further than this from the server's clock. */
export const HANDSHAKE_MAX_SKEW_MS = 60_000;
