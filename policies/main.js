// Entry point the engine loads (package.json "main"). The policy runner
// registers ts-node with type checking, which costs seconds on every preview;
// tsx (esbuild) transpiles the pack instead. Types are checked by
// `./platform test` (tsc -p policies/tsconfig.json).
require("tsx/cjs");
require("./index.ts");
