/**
 * Plain-JavaScript copies of the node's sources for children that must run without a loader.
 *
 * Memory figures of a child that runs TypeScript through tsx include the loader (esbuild
 * transforms, source maps, caches: tens of MB), which a deployed node — compiled JavaScript from
 * `dist/` — does not carry. `dist/` belongs to the build and may be stale, so the RSS benchmark
 * transpiles the sources it needs into a temporary directory instead: TypeScript's
 * `transpileModule` per file (types erased, no type check — the sources use
 * `verbatimModuleSyntax`, so each file transpiles alone), a `package.json` marking the tree as
 * ESM, and a `node_modules` link to the repository's.
 */
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'

/** Source folders (relative to the repository) a node needs at run time. */
export const RUNTIME_SOURCE_DIRS: readonly string[] = ['node', 'protocols', 'store']

async function tsFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await tsFiles(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/**
 * Transpile {@link RUNTIME_SOURCE_DIRS} and `extraFiles` (repository-relative `.ts` paths) from
 * `repo` into `outDir`, keeping the layout (`x/y.ts` → `x/y.js`). Returns the number of files.
 */
export async function transpileTree (repo: string, outDir: string, extraFiles: readonly string[] = []): Promise<number> {
  const files = [...extraFiles.map(f => join(repo, f))]
  for (const dir of RUNTIME_SOURCE_DIRS) files.push(...await tsFiles(join(repo, dir)))
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2024,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    sourceMap: false
  }
  for (const file of files) {
    const rel = relative(repo, file)
    const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), { compilerOptions, fileName: rel })
    const target = join(outDir, rel.replace(/\.ts$/, '.js'))
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, outputText)
  }
  await writeFile(join(outDir, 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n')
  await symlink(join(repo, 'node_modules'), join(outDir, 'node_modules'), 'dir')
  return files.length
}
