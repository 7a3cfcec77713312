// The S3 gateway's pure parts: routing (path and virtual-host style, sub-resources), the XML
// writer and strict reader, and the stored-header rules.
import { S3Error } from '../../src/protocols/s3/errors';
import { headersToStore, responseHeaders, urlEncodeKey } from '../../src/protocols/s3/headers';
import { bucketFromHost, routeS3Request } from '../../src/protocols/s3/router';
import { childNamed, childrenNamed, parseXml, xmlDocument } from '../../src/protocols/s3/xml';

function route(method: string, url: string, host = '127.0.0.1:3900', rootDomain?: string) {
  const [rawPath, rawQuery = ''] = url.split('?') as [string, string?];
  return routeS3Request({ method, rawPath, rawQuery, host }, rootDomain);
}

function codeOf(work: () => unknown): string {
  try {
    work();
    return 'ok';
  } catch (error) {
    if (error instanceof S3Error) return error.code;
    throw error;
  }
}

describe('routing', () => {
  test.each([
    ['GET', '/', 'ListBuckets', null, null],
    ['PUT', '/b', 'CreateBucket', 'b', null],
    ['DELETE', '/b', 'DeleteBucket', 'b', null],
    ['HEAD', '/b', 'HeadBucket', 'b', null],
    ['GET', '/b?location', 'GetBucketLocation', 'b', null],
    ['GET', '/b?versioning', 'GetBucketVersioning', 'b', null],
    ['GET', '/b?acl', 'GetBucketAcl', 'b', null],
    ['GET', '/b?versions&prefix=a', 'ListObjectVersions', 'b', null],
    ['GET', '/b?list-type=2&prefix=a', 'ListObjectsV2', 'b', null],
    ['GET', '/b/', 'ListObjects', 'b', null],
    ['POST', '/b?delete', 'DeleteObjects', 'b', null],
    ['PUT', '/b/a%20b/c', 'PutObject', 'b', 'a b/c'],
    ['GET', '/b/a+b', 'GetObject', 'b', 'a+b'],
    ['GET', '/b/k?partNumber=1', 'GetObject', 'b', 'k'],
    ['HEAD', '/b//double//slash', 'HeadObject', 'b', '/double//slash'],
    ['DELETE', '/b/%E6%97%A5', 'DeleteObject', 'b', '日'],
    ['POST', '/b/k?uploads', 'CreateMultipartUpload', 'b', 'k'],
    ['PUT', '/b/k?partNumber=2&uploadId=ab', 'UploadPart', 'b', 'k'],
    ['POST', '/b/k?uploadId=ab', 'CompleteMultipartUpload', 'b', 'k'],
    ['DELETE', '/b/k?uploadId=ab', 'AbortMultipartUpload', 'b', 'k'],
    ['GET', '/b/k?uploadId=ab', 'ListParts', 'b', 'k'],
    ['GET', '/b?uploads&prefix=a', 'ListMultipartUploads', 'b', null],
  ])('%s %s is %s', (method, url, operation, bucket, key) => {
    const routed = route(method, url);
    expect([routed.operation, routed.bucket, routed.key]).toEqual([operation, bucket, key]);
  });

  test('query values decode + as space and percent escapes', () => {
    expect(route('GET', '/b?list-type=2&prefix=a+b%2Bc').query.get('prefix')).toBe('a b+c');
  });

  test('unserved sub-resources and methods are refused, never served as something else', () => {
    expect(codeOf(() => route('PUT', '/b/k?tagging'))).toBe('NotImplemented');
    expect(codeOf(() => route('PUT', '/b?cors'))).toBe('NotImplemented');
    expect(codeOf(() => route('PUT', '/b/k?uploadId=abc'))).toBe('InvalidArgument');
    expect(codeOf(() => route('PATCH', '/b/k'))).toBe('MethodNotAllowed');
    expect(codeOf(() => route('GET', '/b/%E6%97'))).toBe('InvalidArgument');
  });

  test('virtual-host style when root_domain is set', () => {
    expect(bucketFromHost('photos.s3.example.com:3900', '.s3.example.com')).toBe('photos');
    expect(bucketFromHost('s3.example.com', '.s3.example.com')).toBeNull();
    expect(bucketFromHost('other.org', '.s3.example.com')).toBeNull();
    const routed = route('GET', '/some/key', 'photos.s3.example.com', '.s3.example.com');
    expect([routed.operation, routed.bucket, routed.key]).toEqual(['GetObject', 'photos', 'some/key']);
    expect(route('GET', '/photos/key', 's3.example.com', '.s3.example.com').bucket).toBe('photos');
  });
});

describe('xml', () => {
  test('writer escapes text and skips absent elements', () => {
    const doc = xmlDocument(['Root', [['Key', 'a<b>&"c\''], null, ['Count', 3], ['Flag', false]]]);
    expect(doc).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<Root xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Key>a&lt;b&gt;&amp;&quot;c&apos;</Key><Count>3</Count><Flag>false</Flag></Root>');
  });

  test('reader reads what the writer writes, entities, CDATA and namespaces', () => {
    const root = parseXml('<?xml version="1.0"?><Delete xmlns="x"><Quiet>true</Quiet><Object><Key>a&amp;b&#x41;&#66;</Key></Object><Object><Key><![CDATA[<raw>]]></Key></Object><!-- c --></Delete>');
    expect(root.name).toBe('Delete');
    expect(childNamed(root, 'Quiet')!.text).toBe('true');
    expect(childrenNamed(root, 'Object').map((object) => childNamed(object, 'Key')!.text)).toEqual(['a&bAB', '<raw>']);
  });

  test.each([
    ['<Delete><Object></Delete>'],
    ['<Delete>'],
    ['<A></A><B></B>'],
    ['<!DOCTYPE x [<!ENTITY e "boom">]><A>&e;</A>'],
    ['<A>&unknown;</A>'],
    ['<A>a & b</A>'],
    ['not xml'],
    [''],
    ['<A>' + '<B>'.repeat(40) + '</B>'.repeat(40) + '</A>'],
  ])('malformed %#: MalformedXML', (source) => {
    expect(codeOf(() => parseXml(source))).toBe('MalformedXML');
  });
});

describe('headers', () => {
  test('keeps standard headers and user metadata, sorted, with a default content type', () => {
    expect(headersToStore({ 'x-amz-meta-b': '2', 'cache-control': 'no-cache', 'x-amz-meta-a': '1', authorization: 'secret', 'x-amz-date': 'd' })).toEqual([
      ['cache-control', 'no-cache'],
      ['content-type', 'binary/octet-stream'],
      ['x-amz-meta-a', '1'],
      ['x-amz-meta-b', '2'],
    ]);
  });

  test('user metadata over 2 KB is refused', () => {
    expect(codeOf(() => headersToStore({ 'x-amz-meta-big': 'x'.repeat(2100) }))).toBe('MetadataTooLarge');
  });

  test('response-* overrides replace stored headers', () => {
    const headers = responseHeaders([['content-type', 'text/plain']], new Map([['response-content-type', 'image/png'], ['response-expires', 'never']]));
    expect(new Map(headers)).toEqual(new Map([['content-type', 'image/png'], ['expires', 'never']]));
  });

  test('url encoding keeps slashes and unreserved characters', () => {
    expect(urlEncodeKey('a b/c+d~é')).toBe('a%20b/c%2Bd~%C3%A9');
  });
});
