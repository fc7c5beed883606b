export { type GroupMove, type GroupReset } from './group-reset.js';
export { GroupHasPendingError } from './history.errors.js';
export { type HistoryEntry, type HistoryRange, StreamHistory, type StreamHistoryOptions } from './stream-history.js';
export { type StreamKey } from './stream-keys.js';
export { type StreamPosition } from './stream-position.js';
