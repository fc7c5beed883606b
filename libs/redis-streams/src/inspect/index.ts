export { GroupNotFoundError, StreamNotFoundError } from './inspect.errors.js';
export {
  type ConsumerStatus,
  type GroupStatus,
  StreamInspector,
  type StreamInspectorOptions,
  type StreamStatus,
} from './stream-inspector.js';
