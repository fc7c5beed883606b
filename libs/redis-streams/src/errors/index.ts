export * from './cross-slot-effect.error.js';
export * from './invalid-options.error.js';
export * from './no-responder.error.js';
export * from './partition-count-mismatch.error.js';
export * from './payload-too-large.error.js';
export * from './replicas-not-confirmed.error.js';
export * from './request-timeout.error.js';
export * from './undecodable-entry.error.js';
