// Every public value export (function, class, constant) carries TSDoc with an @example.
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

function exportsWithoutExample(): { name: string; kind: string }[] {
  const entry = path.resolve('src/index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry)!;
  const moduleSymbol = checker.getSymbolAtLocation(source)!;
  const missing: { name: string; kind: string }[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const isValue = symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable);
    if (!isValue) continue;
    const tags = symbol.getJsDocTags(checker);
    if (!tags.some((t) => t.name === 'example')) {
      missing.push({
        name: exported.getName(),
        kind:
          ts.SymbolFlags[
            symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable)
          ] ?? 'value',
      });
    }
  }
  return missing;
}

describe('public API documentation', () => {
  it('every exported function, class and constant has an @example', () => {
    expect(exportsWithoutExample()).toEqual([]);
  });
});
