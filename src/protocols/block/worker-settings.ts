// The run-time settings of the block workers (Garage's `garage worker set` variables), their
// bounds, parsing and stored format. Pure: the block manager persists them in the metadata store
// (tree BLOCK_WORKER_SETTINGS_TREE) so that a restart keeps what the operator set.

export const BLOCK_WORKER_SETTINGS_TREE = 'blk_worker_settings';

export const WORKER_SETTING_LIMITS = {
  resyncWorkerCountMin: 1,
  resyncWorkerCountMax: 8,
  /** A tranquility above this would pause a worker for hours after one slow item. */
  tranquilityMax: 1_000,
  /** The longest a worker rests between two items, whatever the tranquility says. */
  restMaxMs: 10 * 60_000,
} as const;

export interface BlockWorkerSettings {
  resyncWorkerCount: number;
  /** After each resync item, rest tranquility × the time the item took. */
  resyncTranquility: number;
  /** After each block scrubbed, rest tranquility × the time its read took. */
  scrubTranquility: number;
}

/** Garage's defaults: one resync worker, tranquility 2; scrub tranquility 4. */
export const BLOCK_WORKER_SETTINGS_DEFAULT: BlockWorkerSettings = { resyncWorkerCount: 1, resyncTranquility: 2, scrubTranquility: 4 };

export const WORKER_SETTING_NAMES = ['resync-worker-count', 'resync-tranquility', 'scrub-tranquility'] as const;
export type WorkerSettingName = (typeof WORKER_SETTING_NAMES)[number];

const FIELD_OF: Record<WorkerSettingName, keyof BlockWorkerSettings> = {
  'resync-worker-count': 'resyncWorkerCount',
  'resync-tranquility': 'resyncTranquility',
  'scrub-tranquility': 'scrubTranquility',
};

export function isWorkerSettingName(name: string): name is WorkerSettingName {
  return (WORKER_SETTING_NAMES as readonly string[]).includes(name);
}

export type ParsedSetting = { ok: true; name: WorkerSettingName; value: number } | { ok: false; error: string };

/** Checks one `worker set NAME VALUE` (from the CLI, or from the wire: both are untrusted). */
export function parseWorkerSetting(name: unknown, value: unknown): ParsedSetting {
  if (typeof name !== 'string' || !isWorkerSettingName(name)) {
    return { ok: false, error: `unknown worker setting ${JSON.stringify(name)}: expected one of ${WORKER_SETTING_NAMES.join(', ')}` };
  }
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const isInteger = /^[0-9]+$/.test(text);
  const number = isInteger ? Number(text) : NaN;
  if (name === 'resync-worker-count') {
    const { resyncWorkerCountMin: min, resyncWorkerCountMax: max } = WORKER_SETTING_LIMITS;
    if (!isInteger || number < min || number > max) return { ok: false, error: `resync-worker-count must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}` };
    return { ok: true, name, value: number };
  }
  if (!isInteger || number > WORKER_SETTING_LIMITS.tranquilityMax) {
    return { ok: false, error: `${name} must be an integer from 0 to ${WORKER_SETTING_LIMITS.tranquilityMax}, got ${JSON.stringify(value)}` };
  }
  return { ok: true, name, value: number };
}

export function withSetting(settings: BlockWorkerSettings, name: WorkerSettingName, value: number): BlockWorkerSettings {
  return { ...settings, [FIELD_OF[name]]: value };
}

export function settingValue(settings: BlockWorkerSettings, name: WorkerSettingName): number {
  return settings[FIELD_OF[name]];
}

/** How long to rest after an item that took `itemMs` (Garage's tranquilizer, without its averaging). */
export function restAfterMs(tranquility: number, itemMs: number): number {
  return Math.min(WORKER_SETTING_LIMITS.restMaxMs, Math.max(0, Math.round(tranquility * itemMs)));
}

// Stored as one row per setting: key = setting name, value = format byte || uint32 value.
const SETTING_VALUE_FORMAT = 1;
const SETTING_VALUE_BYTES = 5;

export function encodeSettingValue(value: number): Buffer {
  const bytes = Buffer.alloc(SETTING_VALUE_BYTES);
  bytes.writeUInt8(SETTING_VALUE_FORMAT, 0);
  bytes.writeUInt32BE(value, 1);
  return bytes;
}

/** The settings from stored rows; a missing, malformed or out-of-range row keeps its default. */
export function decodeSettings(read: (name: WorkerSettingName) => Buffer | null): BlockWorkerSettings {
  let settings = BLOCK_WORKER_SETTINGS_DEFAULT;
  for (const name of WORKER_SETTING_NAMES) {
    const bytes = read(name);
    if (bytes === null || bytes.length !== SETTING_VALUE_BYTES || bytes[0] !== SETTING_VALUE_FORMAT) continue;
    const parsed = parseWorkerSetting(name, bytes.readUInt32BE(1));
    if (parsed.ok) settings = withSetting(settings, name, parsed.value);
  }
  return settings;
}
