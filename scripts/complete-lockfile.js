#!/usr/bin/env node
'use strict';
// Keeps package-lock.json complete for `npm ci` when the registry mirror lacks some platforms.
//
// Why: native packages (@swc/core, msgpackr-extract) list one optional package per platform. The
// registry reachable from our machines does not serve all of them (darwin and win32 builds 404),
// so `npm install` leaves them out of the lockfile, and `npm ci` then refuses the lockfile as out
// of sync. An entry that names the package's os and cpu is enough: npm skips a package built for
// another platform without fetching it. Runs as the root postinstall, after npm has written the
// lockfile; it changes nothing when every entry is present.
const fs = require('node:fs');
const path = require('node:path');

const LOCKFILE = path.join(__dirname, '..', 'package-lock.json');
const PLATFORM = /(darwin|linux|win32|freebsd|android|openbsd|sunos|aix)-(arm64|x64|arm|ia32|ppc64|s390x|riscv64|loong64|mips64el)/;

function complete(lock) {
  const packages = lock.packages || {};
  const added = [];
  for (const meta of Object.values(packages)) {
    for (const [dependency, range] of Object.entries(meta.optionalDependencies || {})) {
      const key = `node_modules/${dependency}`;
      const platform = PLATFORM.exec(dependency);
      if (packages[key] || !platform) continue;
      packages[key] = { version: String(range).replace(/^[\^~]/, ''), cpu: [platform[2]], os: [platform[1]], optional: true };
      if (meta.dev) packages[key].dev = true;
      added.push(dependency);
    }
  }
  const [root, ...rest] = Object.keys(packages);
  lock.packages = Object.fromEntries([root, ...rest.sort()].map((key) => [key, packages[key]]));
  return added;
}

if (fs.existsSync(LOCKFILE)) {
  const lock = JSON.parse(fs.readFileSync(LOCKFILE, 'utf8'));
  const added = complete(lock);
  if (added.length > 0) {
    fs.writeFileSync(LOCKFILE, JSON.stringify(lock, null, 2) + '\n');
    process.stdout.write(`complete-lockfile: recorded ${added.length} packages for other platforms\n`);
  }
}
