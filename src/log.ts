// Structured log lines on stderr: `time level [actor path] message key=value ...`.
// Level comes from GRANGE_LOG (error, warn, info, debug); fields whose names look like secrets
// are redacted here, once, so no call site can leak one by accident.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFields = Record<string, unknown>;

const LEVEL_RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const SECRET_FIELD = /secret|token|password|authorization|signature|private/i;
const FIELD_VALUE_LENGTH_MAX = 512;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger whose lines carry the given actor path. */
  child(actorPath: string): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  write: (line: string) => void;
  now: () => Date;
}

export function parseLogLevel(text: string | undefined): LogLevel {
  const lowered = (text ?? '').trim().toLowerCase();
  if (lowered === 'trace') return 'debug';
  return lowered in LEVEL_RANK ? (lowered as LogLevel) : 'info';
}

export function createLogger(options: LoggerOptions, actorPath = '-'): Logger {
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVEL_RANK[level] > LEVEL_RANK[options.level]) return;
    options.write(formatLogLine(options.now(), level, actorPath, message, fields) + '\n');
  };
  return {
    error: (message, fields) => emit('error', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    info: (message, fields) => emit('info', message, fields),
    debug: (message, fields) => emit('debug', message, fields),
    child: (path) => createLogger(options, path),
  };
}

/** The process-wide logger of a CLI run: stderr, level from the environment. */
export function stderrLogger(env: Record<string, string | undefined>): Logger {
  return createLogger({
    level: parseLogLevel(env.GRANGE_LOG),
    write: (line) => process.stderr.write(line),
    now: () => new Date(),
  });
}

/** A logger that drops everything (tests and benchmarks). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {}, now: () => new Date(0) });

export function formatLogLine(time: Date, level: LogLevel, actorPath: string, message: string, fields?: LogFields): string {
  const parts = [time.toISOString(), level.toUpperCase().padEnd(5), `[${actorPath}]`, message];
  for (const [key, value] of Object.entries(fields ?? {})) {
    parts.push(`${key}=${formatFieldValue(key, value)}`);
  }
  return parts.join(' ');
}

function formatFieldValue(key: string, value: unknown): string {
  if (SECRET_FIELD.test(key)) return '[redacted]';
  const text = value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value);
  const bounded = (text ?? 'undefined').slice(0, FIELD_VALUE_LENGTH_MAX);
  return /[\s"=]/.test(bounded) || bounded === '' ? JSON.stringify(bounded) : bounded;
}
