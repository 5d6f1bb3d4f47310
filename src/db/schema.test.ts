import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import ts from 'typescript';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.ts';

/** `table.column` → whether a select can give null. */
type Columns = Map<string, boolean>;

/** Tables the migrations make that schema.ts does not type, on purpose. */
const UNTYPED_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);

/**
 * The hand-written table types, read with the TypeScript checker: each property of `DB` is a table, each of
 * its properties a column; a column is nullable when its select type (ColumnType's `__select__`, or the type
 * itself) includes null, or, for a jsonb column read as `unknown`, when its insert type does.
 */
function typedColumns(): Columns {
  const file = fileURLToPath(new URL('./schema.ts', import.meta.url));
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  assert.ok(source !== undefined, 'schema.ts is read');
  const db = source.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === 'DB');
  assert.ok(db !== undefined && ts.isInterfaceDeclaration(db), 'schema.ts exports interface DB');
  const columns: Columns = new Map();
  for (const table of checker.getTypeAtLocation(db).getProperties()) {
    for (const column of checker.getTypeOfSymbol(table).getProperties()) {
      const type = checker.getTypeOfSymbol(column);
      const side = (name: string) => {
        const part = type.getProperty(name);
        return part === undefined ? type : checker.getTypeOfSymbol(part);
      };
      // A jsonb column is read as unknown, which says nothing; what it accepts on insert does.
      let selected = side('__select__');
      if ((selected.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) !== 0) selected = side('__insert__');
      const parts = selected.isUnion() ? selected.types : [selected];
      columns.set(
        `${table.name}.${column.name}`,
        parts.some((p) => (p.flags & ts.TypeFlags.Null) !== 0),
      );
    }
  }
  return columns;
}

describe('schema.ts agrees with the migrated database', () => {
  let t: TestDatabase;
  let inDatabase: Columns;
  let inTypes: Columns;

  before(async () => {
    t = await createTestDatabase();
    const { rows } = await sql<{ table_name: string; column_name: string; is_nullable: 'YES' | 'NO' }>`
      select c.table_name, c.column_name, c.is_nullable
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'`.execute(t.database.db);
    inDatabase = new Map(
      rows
        .filter((r) => !UNTYPED_TABLES.has(r.table_name))
        .map((r) => [`${r.table_name}.${r.column_name}`, r.is_nullable === 'YES']),
    );
    inTypes = typedColumns();
  });
  after(() => t.drop());

  it('reads a plausible number of columns from each side', () => {
    assert.ok(inDatabase.size > 50, `database columns: ${inDatabase.size}`);
    assert.ok(inTypes.size > 50, `typed columns: ${inTypes.size}`);
    assert.equal(inTypes.get('users.email'), false);
    assert.equal(inTypes.get('users.disabled_at'), true);
  });

  it('every typed table and column exists in the database, and every database column is typed', () => {
    const missing = [...inTypes.keys()].filter((c) => !inDatabase.has(c)).sort();
    const untyped = [...inDatabase.keys()].filter((c) => !inTypes.has(c)).sort();
    assert.deepEqual({ missing, untyped }, { missing: [], untyped: [] });
  });

  it('a column is nullable in schema.ts exactly when it is nullable in the database', () => {
    const differ = [...inTypes]
      .filter(([c, nullable]) => inDatabase.has(c) && inDatabase.get(c) !== nullable)
      .map(([c, nullable]) => `${c}: ${nullable ? 'nullable' : 'not null'} in schema.ts`)
      .sort();
    assert.deepEqual(differ, []);
  });
});
