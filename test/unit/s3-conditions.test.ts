// Conditional GET/HEAD: RFC 9110 precedence as AWS documents it, entity tag lists, HTTP dates.
import { evaluateConditions, parseHttpDateSeconds, type ConditionHeaders } from '../../src/protocols/s3/conditions';

// Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT, plus 400 ms the header cannot show.
const lastModifiedMs = Date.UTC(1994, 10, 6, 8, 49, 37, 400);
const object = { etag: '"abc"', lastModifiedMs };
const SAME = 'Sun, 06 Nov 1994 08:49:37 GMT';
const BEFORE = 'Sun, 06 Nov 1994 08:49:36 GMT';
const AFTER = 'Sun, 06 Nov 1994 08:49:38 GMT';

describe('evaluateConditions', () => {
  const table: [string, ConditionHeaders, 'ok' | 'notModified' | 'preconditionFailed'][] = [
    ['no condition', {}, 'ok'],
    // If-Match
    ['If-Match on the ETag', { ifMatch: '"abc"' }, 'ok'],
    ['If-Match on another ETag', { ifMatch: '"xyz"' }, 'preconditionFailed'],
    ['If-Match in a list', { ifMatch: '"xyz", "abc"' }, 'ok'],
    ['If-Match *', { ifMatch: '*' }, 'ok'],
    ['If-Match without quotes', { ifMatch: 'abc' }, 'ok'],
    ['If-Match with a weak tag (strong comparison)', { ifMatch: 'W/"abc"' }, 'preconditionFailed'],
    ['If-Match empty', { ifMatch: '' }, 'preconditionFailed'],
    // If-Unmodified-Since, compared in whole seconds
    ['If-Unmodified-Since the same second', { ifUnmodifiedSince: SAME }, 'ok'],
    ['If-Unmodified-Since later', { ifUnmodifiedSince: AFTER }, 'ok'],
    ['If-Unmodified-Since earlier', { ifUnmodifiedSince: BEFORE }, 'preconditionFailed'],
    ['If-Unmodified-Since unparseable (ignored)', { ifUnmodifiedSince: 'yesterday' }, 'ok'],
    // AWS: If-Match true and If-Unmodified-Since false -> 200
    ['If-Match true, If-Unmodified-Since false', { ifMatch: '"abc"', ifUnmodifiedSince: BEFORE }, 'ok'],
    ['If-Match false, If-Unmodified-Since true', { ifMatch: '"xyz"', ifUnmodifiedSince: AFTER }, 'preconditionFailed'],
    // If-None-Match
    ['If-None-Match on the ETag', { ifNoneMatch: '"abc"' }, 'notModified'],
    ['If-None-Match on another ETag', { ifNoneMatch: '"xyz"' }, 'ok'],
    ['If-None-Match *', { ifNoneMatch: '*' }, 'notModified'],
    ['If-None-Match with a weak tag (weak comparison)', { ifNoneMatch: 'W/"abc"' }, 'notModified'],
    ['If-None-Match in a list', { ifNoneMatch: '"x,y", W/"abc"' }, 'notModified'],
    ['If-None-Match a tag containing a comma', { ifNoneMatch: '"abc,"' }, 'ok'],
    // If-Modified-Since
    ['If-Modified-Since the same second', { ifModifiedSince: SAME }, 'notModified'],
    ['If-Modified-Since later', { ifModifiedSince: AFTER }, 'notModified'],
    ['If-Modified-Since earlier', { ifModifiedSince: BEFORE }, 'ok'],
    ['If-Modified-Since unparseable (ignored)', { ifModifiedSince: 'not a date' }, 'ok'],
    // AWS: If-None-Match false and If-Modified-Since true -> 304
    ['If-None-Match false, If-Modified-Since true', { ifNoneMatch: '"abc"', ifModifiedSince: BEFORE }, 'notModified'],
    // If-None-Match true overrides If-Modified-Since (RFC 9110 step 4 is skipped)
    ['If-None-Match true, If-Modified-Since false', { ifNoneMatch: '"xyz"', ifModifiedSince: AFTER }, 'ok'],
    // 412 comes before 304
    ['If-Match false, If-None-Match false', { ifMatch: '"xyz"', ifNoneMatch: '"abc"' }, 'preconditionFailed'],
    ['If-Unmodified-Since false, If-Modified-Since false', { ifUnmodifiedSince: BEFORE, ifModifiedSince: AFTER }, 'preconditionFailed'],
    ['If-Match true, If-None-Match false', { ifMatch: '"abc"', ifNoneMatch: '"abc"' }, 'notModified'],
  ];
  it.each(table)('%s', (_what, headers, expected) => {
    expect(evaluateConditions(headers, object, 'GET')).toBe(expected);
    expect(evaluateConditions(headers, object, 'HEAD')).toBe(expected);
  });

  it('compares with a stored ETag without quotes just the same', () => {
    expect(evaluateConditions({ ifMatch: '"abc"' }, { etag: 'abc', lastModifiedMs }, 'GET')).toBe('ok');
    expect(evaluateConditions({ ifNoneMatch: '"abc"' }, { etag: 'abc', lastModifiedMs }, 'GET')).toBe('notModified');
  });
});

describe('parseHttpDateSeconds', () => {
  const seconds = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', seconds],
    ['Sunday, 06-Nov-94 08:49:37 GMT', seconds],
    ['Sun Nov  6 08:49:37 1994', seconds],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['Wed, 21-Oct-15 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 28) / 1000],
  ])('parses %s', (text, expected) => {
    expect(parseHttpDateSeconds(text)).toBe(expected);
  });

  it.each([undefined, '', 'now', '1994-11-06T08:49:37Z', 'Sun, 06 Nov 1994 08:49:37 PST', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Foo 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 25:49:37 GMT'])(
    'rejects %p',
    (text) => {
      expect(parseHttpDateSeconds(text)).toBeNull();
    },
  );
});
