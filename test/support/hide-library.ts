/**
 * Runs a command on this machine as if one shared library were not installed, to see how code fails
 * where it is missing. A private mount namespace (`unshare -rm`: no root needed where the kernel
 * allows user namespaces) lays a directory of symlinks over the library's directory, pointing at
 * everything in it except that library. Nothing outside the child process changes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type HiddenRun =
  | { readonly ran: true; readonly status: number | null; readonly stdout: string; readonly stderr: string }
  | { readonly ran: false; readonly why: string };

/** Where the dynamic linker finds `soname` (e.g. libusb-1.0.so.0), from its cache. */
export function libraryPath(soname: string): string | undefined {
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    const listed = spawnSync(ldconfig, ['-p'], { encoding: 'utf8' });
    if (listed.status !== 0) continue;
    const line = listed.stdout.split('\n').find((l) => l.trim().startsWith(`${soname} `) && l.includes('=>'));
    const file = line?.split('=>')[1]?.trim();
    return file && fs.existsSync(file) ? fs.realpathSync(file) : undefined;
  }
  return undefined;
}

/** Runs `command` with every file whose name starts with `prefix` missing from `libraryDir`. */
export function runWithoutLibrary(libraryDir: string, prefix: string, command: readonly string[], options: { cwd: string; timeoutMs: number }): HiddenRun {
  const probe = spawnSync('unshare', ['-rm', 'true'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { ran: false, why: `unshare -rm is not allowed here (${probe.error?.message ?? probe.stderr.trim()})` };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nv-hidelib-'));
  try {
    const original = path.join(work, 'original');
    const farm = path.join(work, 'farm');
    fs.mkdirSync(original);
    fs.mkdirSync(farm);
    for (const name of fs.readdirSync(libraryDir)) {
      if (!name.startsWith(prefix)) fs.symlinkSync(path.join(original, name), path.join(farm, name));
    }
    const script = 'mount --bind "$1" "$2" && mount --bind "$3" "$1" || exit 96; for f in "$1/$4"*; do [ -e "$f" ] && exit 97; done; shift 4; exec "$@"';
    const run = spawnSync('unshare', ['-rm', 'sh', '-c', script, 'sh', libraryDir, original, farm, prefix, ...command], {
      cwd: options.cwd,
      encoding: 'utf8',
      timeout: options.timeoutMs,
    });
    if (run.status === 96) return { ran: false, why: `the mount namespace could not bind-mount over ${libraryDir}: ${run.stderr.trim()}` };
    if (run.status === 97) return { ran: false, why: `${prefix}* was still visible in ${libraryDir} inside the namespace` };
    return { ran: true, status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
