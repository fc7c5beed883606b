/** The app's AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
/** The (stream, group) pairs this app consumes, checked by /health. */
export const WATCHED_GROUPS = Symbol('WATCHED_GROUPS');
