// Human-readable sizes for the CLI's tables.

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const DECIMAL_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Disk space as `df` shows it: binary units. */
export function formatBinaryBytes(bytes: number): string {
  return scaled(bytes, 1024, BINARY_UNITS);
}

/** Capacities as operators write them (500G, 2T): decimal units. */
export function formatCapacity(bytes: number): string {
  return scaled(bytes, 1000, DECIMAL_UNITS);
}

function scaled(bytes: number, base: number, units: string[]): string {
  let value = bytes;
  let unit = 0;
  while (value >= base && unit < units.length - 1) {
    value /= base;
    unit++;
  }
  const text = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}

/** 1536 -> "1.5 KiB": binary units, one decimal. */
export function formatBytesApprox(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
