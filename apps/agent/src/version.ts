/** Replaced with the package version by build.mjs; unbundled (tests) it is a dev build. */
export const AGENT_VERSION = process.env.SYSFLEET_AGENT_VERSION || '0.0.0-dev';
