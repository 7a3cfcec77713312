// The Range header: which ranges are served, which are ignored (whole object) and which are 416.
import { S3Error } from '../../src/protocols/s3/errors';
import { contentRange, parseRange } from '../../src/protocols/s3/range';

describe('parseRange', () => {
  const served: [string, number, { start: number; end: number }][] = [
    ['bytes=0-0', 10, { start: 0, end: 0 }],
    ['bytes=0-9', 10, { start: 0, end: 9 }],
    ['bytes=2-5', 10, { start: 2, end: 5 }],
    ['bytes=5-100', 10, { start: 5, end: 9 }], // end clamped to the last byte
    ['bytes=9-', 10, { start: 9, end: 9 }],
    ['bytes=0-', 10, { start: 0, end: 9 }],
    ['bytes=-3', 10, { start: 7, end: 9 }], // the last 3 bytes
    ['bytes=-10', 10, { start: 0, end: 9 }],
    ['bytes=-11', 10, { start: 0, end: 9 }], // a suffix longer than the object: all of it
    ['bytes=3-99999999999999999999999', 10, { start: 3, end: 9 }],
    ['BYTES=1-2', 10, { start: 1, end: 2 }], // range units are case-insensitive
    [' bytes= 1 - 2 ', 10, { start: 1, end: 2 }],
    ['bytes=-1', 1, { start: 0, end: 0 }],
  ];
  it.each(served)('serves %s of %i bytes', (header, size, range) => {
    expect(parseRange(header, size)).toEqual(range);
  });

  const ignored: [string | undefined, string][] = [
    [undefined, 'no header'],
    ['', 'an empty header'],
    ['bytes=', 'no range'],
    ['bytes=-', 'neither end'],
    ['bytes=5-2', 'a last byte before the first (invalid, RFC 9110)'],
    ['bytes=0-1,3-4', 'several ranges (AWS serves the whole object)'],
    ['bytes=a-b', 'letters'],
    ['bytes=1.5-2', 'a fraction'],
    ['items=0-1', 'another unit'],
    ['bytes 0-1', 'no equals sign'],
    ['bytes=--1', 'a negative number'],
  ];
  it.each(ignored)('ignores %p (%s)', (header) => {
    expect(parseRange(header, 10)).toBeNull();
  });

  const unsatisfiable: [string, number][] = [
    ['bytes=10-', 10],
    ['bytes=10-20', 10],
    ['bytes=99999999999999999999-', 10],
    ['bytes=-0', 10],
    ['bytes=0-', 0],
    ['bytes=0-0', 0],
    ['bytes=-5', 0],
  ];
  it.each(unsatisfiable)('refuses %s of %i bytes with InvalidRange', (header, size) => {
    let caught: unknown;
    try {
      parseRange(header, size);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(S3Error);
    expect(caught).toMatchObject({ code: 'InvalidRange', status: 416, details: { RangeRequested: header, ActualObjectSize: String(size) } });
  });
});

describe('contentRange', () => {
  it('names the range and the full size', () => {
    expect(contentRange({ start: 0, end: 0 }, 1)).toBe('bytes 0-0/1');
    expect(contentRange({ start: 7, end: 9 }, 10)).toBe('bytes 7-9/10');
    expect(contentRange(parseRange('bytes=-3', 5_000_000_000)!, 5_000_000_000)).toBe('bytes 4999999997-4999999999/5000000000');
  });
});
