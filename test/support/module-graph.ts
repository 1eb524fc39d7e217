/**
 * What a module pulls in, as a bundler sees it: every source file it reaches and every reference
 * it makes to Node (a builtin module, or a Node global such as process, Buffer or setTimeout).
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Message } from 'esbuild';
import ts from 'typescript';

const NODE_GLOBALS = ['process', 'Buffer', 'require', 'module', '__dirname', '__filename', 'global', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval'];

export interface ModuleGraph {
  /** Source files reached, relative to the project root. */
  readonly inputs: string[];
  /** Node builtins imported anywhere in the graph. */
  readonly nodeImports: string[];
  /** Node globals referenced anywhere in the graph. */
  readonly nodeGlobals: string[];
  /** What each source file reached imports: other source files, Node builtins (`node:net`) and packages as written. */
  readonly imports: Readonly<Record<string, readonly string[]>>;
}

export async function moduleGraph(entry: string, options: { externalPackages?: boolean } = {}): Promise<ModuleGraph> {
  const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
  const nodeImports = new Set<string>();
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'neutral',
    format: 'esm',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    packages: options.externalPackages ? 'external' : undefined,
    // Every free reference to a Node global is renamed to a marker the output is searched for.
    define: Object.fromEntries(NODE_GLOBALS.map((name) => [name, `__NODE_GLOBAL_${name}__`])),
    plugins: [
      {
        name: 'record-node-builtins',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (!builtins.has(args.path)) return undefined;
            nodeImports.add(args.path.replace(/^node:/, ''));
            return { path: args.path, external: true };
          });
        },
      },
    ],
  }).catch((error: { errors?: Message[] }) => {
    throw new Error(`bundling ${entry} failed: ${(error.errors ?? []).map((e) => e.text).join('; ')}`);
  });
  const text = result.outputFiles.map((file) => file.text).join('\n');
  const nodeGlobals = NODE_GLOBALS.filter((name) => text.includes(`__NODE_GLOBAL_${name}__`));
  const imports = Object.fromEntries(Object.entries(result.metafile.inputs).map(([input, { imports: its }]) => [input, its.map((it) => it.path)]));
  return { inputs: Object.keys(result.metafile.inputs), nodeImports: [...nodeImports].sort(), nodeGlobals, imports };
}

export interface ImportGraph {
  /** Source files reached, relative to the project root, the entry first. */
  readonly files: string[];
  /** Packages imported anywhere in the graph, by name (`fastify`, `@fastify/rate-limit`, `better-sqlite3`); Node's builtins left out. */
  readonly packages: string[];
  /** The files each file imports directly (relative to the project root), and the packages. */
  readonly imports: ReadonlyMap<string, { readonly files: readonly string[]; readonly packages: readonly string[] }>;
}

/**
 * What a module reaches as its source says, not as a bundler keeps it: every import counts,
 * `import type` and `export … from` and `import()` too, so a type taken from a forbidden module
 * is as much a dependency as a value. Packages are named, not followed.
 */
export function importGraph(entry: string, root: string): ImportGraph {
  const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
  const files: string[] = [];
  const packages = new Set<string>();
  const imports = new Map<string, { files: string[]; packages: string[] }>();
  const visit = (file: string) => {
    const relative = path.relative(root, file);
    if (imports.has(relative)) return;
    const direct = { files: [] as string[], packages: [] as string[] };
    imports.set(relative, direct);
    files.push(relative);
    for (const { fileName: specifier } of ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier);
        direct.files.push(path.relative(root, target));
        if (/\.[cm]?[jt]s$/.test(target) && fs.existsSync(target)) visit(target);
      } else if (!builtins.has(specifier)) {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        direct.packages.push(name);
        packages.add(name);
      }
    }
  };
  visit(path.resolve(root, entry));
  return { files, packages: [...packages].sort(), imports };
}
