// `grange server`: runs a node until SIGINT or SIGTERM.
// `--single-node` runs on the embedded default config instead: everything under one local folder
// (created on first start), the rpc secret generated once and kept there, nothing to edit.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadConfigFile, renderSingleNodeConfig, type GrangeConfig } from '../config';
import { dataDirPaths } from '../actors/node';
import { stderrLogger } from '../log';
import { assignSingleNodeLayout, SINGLE_NODE_ZONE, startNode } from '../server';
import { loadCliConfig } from './config-path';
import { CliUsageError } from './errors';
import { ensureSingleNodeS3Access, type SingleNodeS3Access } from './single-node-s3';

export const SINGLE_NODE_DIR_DEFAULT = './grange-data';
const RPC_SECRET_BYTES = 32;
const KEEP_ALIVE_INTERVAL_MS = 3_600_000;

interface ServerArgs {
  config?: string;
  'single-node'?: boolean;
  'data-root'?: string;
}

export const serverCommand: CommandModule<object, ServerArgs> = {
  command: 'server',
  describe: 'run a Grange node',
  builder: (parser) =>
    parser
      .option('single-node', { type: 'boolean', describe: 'run on the embedded default config (no config file needed)' })
      .option('data-root', { type: 'string', describe: `with --single-node: the folder holding everything (default ${SINGLE_NODE_DIR_DEFAULT})` }),
  handler: async (args) => {
    const singleNode = args['single-node'] === true;
    const { path, config, rootDir } = singleNode ? prepareSingleNode(args) : { ...loadCliConfig(args.config, process.env), rootDir: null };
    await runServer(path, config, rootDir);
  },
};

function prepareSingleNode(args: ServerArgs): { path: string; config: GrangeConfig; rootDir: string } {
  if (args.config !== undefined) throw new CliUsageError('--single-node uses the embedded config: drop -c, or drop --single-node');
  const rootDir = resolve(args['data-root'] ?? SINGLE_NODE_DIR_DEFAULT);
  mkdirSync(rootDir, { recursive: true, mode: 0o700 });
  const rpcSecretFile = join(rootDir, 'rpc_secret');
  if (!existsSync(rpcSecretFile)) {
    writeFileSync(rpcSecretFile, randomBytes(RPC_SECRET_BYTES).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const configPath = join(rootDir, 'grange.toml');
  // Written once so that other commands can reach this node with `-c <root>/grange.toml`.
  if (!existsSync(configPath)) writeFileSync(configPath, renderSingleNodeConfig({ rootDir, rpcSecretFile }), { mode: 0o600 });
  return { path: configPath, config: loadConfigFile(configPath, process.env), rootDir };
}

/** `rootDir` is set for --single-node: the node then gives itself a layout and S3 credentials. */
async function runServer(configPath: string, config: GrangeConfig, rootDir: string | null): Promise<void> {
  const logger = stderrLogger(process.env);
  // Handlers first: a signal that arrives while the node starts (or just as it prints its id)
  // must still stop it cleanly, never kill it with the default action.
  const stopSignal = listenForStopSignal();
  // The process lives until a signal, whether or not some listener happens to hold the loop open.
  const keepAlive = setInterval(() => {}, KEEP_ALIVE_INTERVAL_MS);
  try {
    if (config.unusedKeys.length > 0) logger.warn('config keys accepted for Garage compatibility but without effect', { keys: config.unusedKeys.join(',') });
    const dialAddress = dialOverrides(process.env.GRANGE_TEST_DIAL_OVERRIDES);
    const testTables = process.env.GRANGE_TEST_TABLES === '1';
    // Test hook: a short block GC delay, so tests see unreferenced blocks go.
    const blockGcDelayMs = process.env.GRANGE_TEST_BLOCK_GC_DELAY_MS ? Number(process.env.GRANGE_TEST_BLOCK_GC_DELAY_MS) : undefined;
    const node = await startNode({
      config,
      logger,
      testTables,
      ...(blockGcDelayMs !== undefined && Number.isFinite(blockGcDelayMs) ? { blockGcDelayMs } : {}),
      ...(dialAddress ? { dialAddress } : {}),
    });
    const layoutVersion = rootDir !== null ? await assignSingleNodeLayout(node) : null;
    const s3Access = rootDir !== null && config.s3Api.apiBindAddr ? await ensureSingleNodeS3Access(node, rootDir) : null;
    process.stdout.write(
      [
        `Grange node started`,
        `  node id:   ${node.identity.nodeId}`,
        `  rpc:       ${node.identity.nodeId}@${node.publicAddr}`,
        `  config:    ${configPath}`,
        `  metadata:  ${config.metadataDir}`,
        `  data:      ${dataDirPaths(config).join(', ')}`,
        ...(layoutVersion === null ? [] : [`  layout:    version ${layoutVersion} (zone ${SINGLE_NODE_ZONE}, this node alone)`]),
        ...(s3Access === null ? [] : s3AccessLines(config, s3Access)),
        `Press Ctrl-C to stop.`,
        '',
      ].join('\n'),
    );
    const signal = await stopSignal.received;
    logger.info('stopping', { signal });
    await node.stop();
  } finally {
    clearInterval(keepAlive);
    stopSignal.dispose();
  }
  process.stdout.write('Grange node stopped\n');
}

function s3AccessLines(config: GrangeConfig, access: SingleNodeS3Access): string[] {
  const bind = config.s3Api.apiBindAddr!;
  const endpoint = bind.kind === 'unix' ? bind.path : `http://${bind.host === '0.0.0.0' || bind.host === '::' ? '127.0.0.1' : bind.host}:${bind.port}`;
  const k2v = config.k2vApi?.apiBindAddr;
  const k2vLine = k2v && k2v.kind !== 'unix' ? [`  k2v api:   http://${k2v.host === '0.0.0.0' || k2v.host === '::' ? '127.0.0.1' : k2v.host}:${k2v.port} (same key; grange k2v read|insert|delete|index)`] : [];
  return [
    `  s3 api:    ${endpoint} (region ${config.s3Api.s3Region})`,
    ...k2vLine,
    `  key id:    ${access.accessKeyId}`,
    `  secret:    ${access.secretAccessKey}`,
    `  bucket:    ${access.bucket}`,
    `Try it:`,
    `  export AWS_ACCESS_KEY_ID=${access.accessKeyId} AWS_SECRET_ACCESS_KEY=${access.secretAccessKey} AWS_DEFAULT_REGION=${config.s3Api.s3Region}`,
    `  aws --endpoint-url ${endpoint} s3 ls`,
  ];
}

function listenForStopSignal(): { received: Promise<NodeJS.Signals>; dispose: () => void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const received = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Test hook: GRANGE_TEST_DIAL_OVERRIDES="127.0.0.1:3901=127.0.0.1:4901,..." makes this node dial
 * the right-hand address whenever it connects to the left-hand one, so that the test harness can
 * put a link proxy (latency, partitions) on each directed link between two nodes.
 */
export function dialOverrides(text: string | undefined): ((addr: string) => string) | null {
  if (!text) return null;
  const map = new Map<string, string>();
  for (const pair of text.split(',')) {
    const [from, to] = pair.split('=');
    if (!from || !to) throw new CliUsageError(`GRANGE_TEST_DIAL_OVERRIDES: ${JSON.stringify(pair)} is not <addr>=<addr>`);
    map.set(from.trim(), to.trim());
  }
  return (addr) => map.get(addr) ?? addr;
}
