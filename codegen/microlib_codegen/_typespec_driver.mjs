// microlib codegen's TypeSpec driver (microlib_codegen/typespec.py runs it with node).
//
// It does what `tsp compile <entry> --config <tspconfig.yaml> --pretty false` does, through the
// compiler's public API (resolveCompilerOptions, compile, formatDiagnostic), with microlib's
// @typespec/openapi3 settings merged over the project's own: the CLI's `--option` only sets
// strings, and `openapi-versions` is an array. It also reports which .tsp files the program
// loaded, so that drift and `--check` cover every source of the project.
//
// argv: the @typespec/compiler package folder, the entry (a .tsp file or a project folder),
// the tspconfig.yaml ("" to let the compiler look one up, as `tsp compile file.tsp` does), the
// folder to emit into, the file to write the result to ({entry, config, sources} as JSON).
// Diagnostics go to stdout, one per line as the CLI prints them; exit 1 on an error.
import { readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [compilerDir, entryArg, configArg, outDir, resultFile] = process.argv.slice(2);
const manifest = JSON.parse(await readFile(join(compilerDir, "package.json"), "utf8"));
const main = manifest.exports?.["."]?.default ?? manifest.main;
const tsp = await import(pathToFileURL(join(compilerDir, main)).href);

// A folder's entry point, as `tsp compile <folder>` resolves it: package.json tspMain, else main.tsp.
async function entrypoint(path) {
  if (!(await stat(path)).isDirectory()) return path;
  try {
    const project = JSON.parse(await readFile(join(path, "package.json"), "utf8"));
    if (typeof project.tspMain === "string") return resolve(path, project.tspMain);
  } catch {
    // No package.json (or not JSON): main.tsp, as the CLI does.
  }
  return join(path, "main.tsp");
}

const emitter = "@typespec/openapi3";
const entry = await entrypoint(resolve(entryArg));
const [options, configDiagnostics] = await tsp.resolveCompilerOptions(tsp.NodeHost, {
  entrypoint: entry,
  configPath: configArg || undefined,
  cwd: process.cwd(),
  env: process.env,
  overrides: {
    emit: [emitter],
    outputDir: outDir,
    options: {
      [emitter]: {
        "openapi-versions": ["3.1.0"],
        "file-type": "json",
        // One file per service (and per version): more than one is reported by microlib.
        "output-file": "openapi.{service-name-if-multiple}.{version}.json",
        "emitter-output-dir": outDir,
      },
    },
  },
});
let diagnostics = configDiagnostics;
let failed = configDiagnostics.some((d) => d.severity === "error");
let sources = [];
if (!failed) {
  const program = await tsp.compile(tsp.NodeHost, entry, options);
  diagnostics = [...diagnostics, ...program.diagnostics];
  failed = program.hasError();
  sources = [...program.sourceFiles.keys()];
}
for (const diagnostic of diagnostics) {
  console.log(tsp.formatDiagnostic(diagnostic, { pretty: false }));
}
await writeFile(resultFile, JSON.stringify({ entry, config: options?.config ?? null, sources }));
process.exit(failed ? 1 : 0);
