/**
 * Just enough TOML for samconfig.toml: comments, `[dotted.table]` headers, and keys whose values
 * are basic strings, literal strings, booleans, numbers, or (multi-line) arrays of those. Any
 * other construct throws, so the test fails loudly instead of reading the file wrongly.
 */
export type TomlValue = string | number | boolean | TomlValue[];
export type TomlTable = { [key: string]: TomlValue | TomlTable };

class Cursor {
  index = 0;
  constructor(readonly text: string) {}
  peek(): string {
    return this.text[this.index] ?? '';
  }
  done(): boolean {
    return this.index >= this.text.length;
  }
  /** Skip spaces and tabs; with `newlines`, also line breaks and comments. */
  skip(newlines: boolean): void {
    for (;;) {
      const char = this.peek();
      if (char === ' ' || char === '\t' || (newlines && (char === '\n' || char === '\r'))) this.index += 1;
      else if (char === '#') while (!this.done() && this.peek() !== '\n') this.index += 1;
      else return;
    }
  }
  fail(what: string): never {
    const line = this.text.slice(0, this.index).split('\n').length;
    throw new SyntaxError(`Expected ${what} at line ${line} but received ${JSON.stringify(this.text.slice(this.index, this.index + 20))}`);
  }
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

function parseValue(cursor: Cursor): TomlValue {
  const char = cursor.peek();
  if (char === '"') {
    let out = '';
    cursor.index += 1;
    for (;;) {
      const next = cursor.peek();
      if (next === '' || next === '\n') cursor.fail('a closing quote');
      cursor.index += 1;
      if (next === '"') return out;
      if (next === '\\') {
        const escaped = ESCAPES[cursor.peek()];
        if (escaped === undefined) cursor.fail('a supported escape');
        out += escaped;
        cursor.index += 1;
      } else out += next;
    }
  }
  if (char === "'") {
    const end = cursor.text.indexOf("'", cursor.index + 1);
    if (end < 0) cursor.fail('a closing quote');
    const out = cursor.text.slice(cursor.index + 1, end);
    cursor.index = end + 1;
    return out;
  }
  if (char === '[') {
    const items: TomlValue[] = [];
    cursor.index += 1;
    for (;;) {
      cursor.skip(true);
      if (cursor.peek() === ']') {
        cursor.index += 1;
        return items;
      }
      items.push(parseValue(cursor));
      cursor.skip(true);
      if (cursor.peek() === ',') cursor.index += 1;
      else if (cursor.peek() !== ']') cursor.fail('"," or "]"');
    }
  }
  const bare = /^(true|false|[+-]?\d+(\.\d+)?)/.exec(cursor.text.slice(cursor.index));
  if (bare === null) return cursor.fail('a string, number, boolean or array');
  cursor.index += bare[0].length;
  const word = bare[0];
  return word === 'true' ? true : word === 'false' ? false : Number(word);
}

/** Parse the TOML subset described above into nested tables. */
export function parseToml(text: string): TomlTable {
  const root: TomlTable = {};
  let table = root;
  // Annotated so that TypeScript narrows after cursor.fail(), which never returns.
  const cursor: Cursor = new Cursor(text);
  for (;;) {
    cursor.skip(true);
    if (cursor.done()) return root;
    if (cursor.peek() === '[') {
      const end = text.indexOf(']', cursor.index);
      if (end < 0) cursor.fail('"]"');
      const names = text.slice(cursor.index + 1, end).trim().split('.');
      table = root;
      for (const name of names) {
        if (!/^[A-Za-z0-9_-]+$/.test(name)) cursor.fail('a bare table name');
        const existing = table[name];
        let child: TomlTable;
        if (existing === undefined) child = {};
        else if (typeof existing === 'object' && !Array.isArray(existing)) child = existing;
        else return cursor.fail(`a table for ${name}`);
        table[name] = child;
        table = child;
      }
      cursor.index = end + 1;
      continue;
    }
    const key = /^[A-Za-z0-9_-]+/.exec(text.slice(cursor.index));
    if (key === null) cursor.fail('a key');
    cursor.index += key[0].length;
    cursor.skip(false);
    if (cursor.peek() !== '=') cursor.fail('"="');
    cursor.index += 1;
    cursor.skip(false);
    if (key[0] in table) cursor.fail(`no second ${key[0]}`);
    table[key[0]] = parseValue(cursor);
    cursor.skip(false);
    if (!cursor.done() && cursor.peek() !== '\n' && cursor.peek() !== '\r') cursor.fail('the end of the line');
  }
}
