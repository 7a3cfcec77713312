// Timestamps of SigV4: ISO 8601 basic ("20130524T000000Z") in x-amz-date and X-Amz-Date,
// an HTTP date ("Fri, 24 May 2013 00:00:00 GMT") in the Date header.

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Milliseconds since the epoch, or null when not a real ISO 8601 basic UTC time. */
export function parseAmzDate(text: string): number | null {
  const match = AMZ_DATE.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 20130231 over to March; a round trip rejects such dates.
  return formatAmzDate(ms) === text ? ms : null;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** An HTTP-date (RFC 9110: IMF-fixdate, or the obsolete forms Date.parse also reads). */
export function parseHttpDate(text: string): number | null {
  if (!/GMT$|UTC$|[+-]0000$/.test(text.trim())) return null; // HTTP dates are always UTC
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

export function formatIsoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
