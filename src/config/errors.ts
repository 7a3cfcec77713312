// The one error the configuration module throws. Its message is a single line that starts with
// where the configuration came from, so an operator sees at once which file and which key is wrong.

export type ConfigErrorKind =
  | 'unreadable' // the config file cannot be read (missing, permission, not a regular file, too large)
  | 'syntax' // not valid TOML
  | 'unknown-key'
  | 'wrong-type'
  | 'missing-key'
  | 'invalid-value' // right type, bad value (range, format, unsupported choice, conflicting keys)
  | 'secret-missing' // no RPC secret from any source
  | 'secret-conflict' // a secret and its _file form both given
  | 'secret-malformed'
  | 'secret-unreadable'
  | 'secret-permissions'; // a secret file readable by group or others

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly kind: ConfigErrorKind,
    /** The file path, or the label given to parseConfigText. */
    readonly origin: string,
    /** The message without the "config <origin>: " prefix. */
    readonly detail: string,
  ) {
    super(`config ${origin}: ${oneLine(detail)}`);
  }
}

/** Messages are one line: a multi-line reason (from a library) is folded. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

const FS_ERROR_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'file not found',
  ENOTDIR: 'file not found (a parent is not a folder)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'a folder, not a file',
  ELOOP: 'too many symbolic links',
};

/** A short reason for a failed file access, for messages such as "cannot read X: permission denied". */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && FS_ERROR_REASONS[code] !== undefined) return FS_ERROR_REASONS[code] as string;
  if (error instanceof Error) return code === undefined ? error.message : `${code}: ${error.message}`;
  return String(error);
}
