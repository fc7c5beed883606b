export { GroupHasPendingError } from './history.errors.js';
export {
  type GroupReset,
  type HistoryEntry,
  type HistoryRange,
  StreamHistory,
  type StreamHistoryOptions,
} from './stream-history.js';
export { type StreamPosition } from './stream-position.js';
