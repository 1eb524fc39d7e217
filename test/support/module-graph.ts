/**
 * What a module pulls in, as a bundler sees it: every source file it reaches and every reference
 * it makes to Node (a builtin module, or a Node global such as process, Buffer or setTimeout).
 */
import { builtinModules } from 'node:module';
import { build, type Message } from 'esbuild';

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
