// Every bound of the runtime in one place (TigerBeetle style): units last in each name.
// Later areas add their own sections here or in a limits file beside their code.

/** Default timeout of an ask when the caller gives none it cares about. */
export const ASK_TIMEOUT_DEFAULT_MS = 10_000;
/** Asks longer than this are a programmer error (a forgotten reply would pin memory for days). */
export const ASK_TIMEOUT_MAX_MS = 24 * 3600 * 1000;
/** Actor names are path segments: short, printable, no slash. */
export const ACTOR_NAME_LENGTH_MAX = 128;

/** Default restart backoff for supervised workers. */
export const RESTART_BACKOFF_MIN_MS = 100;
export const RESTART_BACKOFF_MAX_MS = 30_000;
export const RESTART_BACKOFF_JITTER = 0.2;
export const RESTARTS_IN_WINDOW_MAX = 10;
export const RESTART_WINDOW_MS = 60_000;

/** Background worker runner: how long an idle worker sleeps before it looks for work again. */
export const WORKER_IDLE_DELAY_MS = 10_000;
export const WORKER_ERROR_BACKOFF_MIN_MS = 1_000;
export const WORKER_ERROR_BACKOFF_MAX_MS = 10 * 60_000;

/** How long a shutdown waits for actors' cleanup hooks before giving up on them. */
export const SHUTDOWN_CLEANUP_TIMEOUT_MS = 10_000;
