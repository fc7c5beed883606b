// A reader for the small YAML subset docker-compose.yml is kept to (so the compose checks need no YAML dependency):
// block mappings and sequences by indentation, `#` comments, plain / "double" / 'single' quoted scalars, and flow
// sequences of scalars (`["CMD", "redis-cli", "ping"]`). Anything else (anchors, multi-line strings, flow mappings)
// is refused with the line, so the compose file can't silently drift outside what is checked.

export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue } | null;

interface Line {
  indent: number;
  text: string;
  number: number;
}

export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '') return;
    if (/\t/.test(raw.slice(0, raw.length - raw.trimStart().length))) throw unsupported(i + 1, 'tab indentation');
    lines.push({ indent: raw.length - raw.trimStart().length, text: text.trim(), number: i + 1 });
  });
  const [value, next] = parseBlock(lines, 0, lines[0]?.indent ?? 0);
  if (next !== lines.length) throw unsupported(lines[next].number, 'text after the document');
  return value;
}

function parseBlock(lines: Line[], start: number, indent: number): [YamlValue, number] {
  if (start >= lines.length) return [null, start];
  return lines[start].text.startsWith('- ') || lines[start].text === '-'
    ? parseSequence(lines, start, indent)
    : parseMapping(lines, start, indent);
}

function parseMapping(lines: Line[], start: number, indent: number): [YamlValue, number] {
  const map: Record<string, YamlValue> = {};
  let i = start;
  while (i < lines.length && lines[i].indent === indent) {
    const line = lines[i];
    const match = /^("[^"]*"|'[^']*'|[^:"'][^:]*?):(?:\s+(.*))?$/.exec(line.text);
    if (!match) throw unsupported(line.number, `"${line.text}" (expected key: value)`);
    const key = scalar(match[1], line.number) as string;
    if (key in map) throw unsupported(line.number, `duplicate key "${key}"`);
    if (match[2] !== undefined && match[2] !== '') {
      map[key] = inlineValue(match[2], line.number);
      i++;
    } else if (i + 1 < lines.length && lines[i + 1].indent > indent) {
      [map[key], i] = parseBlock(lines, i + 1, lines[i + 1].indent);
    } else {
      map[key] = null;
      i++;
    }
  }
  if (i < lines.length && lines[i].indent > indent) throw unsupported(lines[i].number, 'unexpected indentation');
  return [map, i];
}

function parseSequence(lines: Line[], start: number, indent: number): [YamlValue, number] {
  const list: YamlValue[] = [];
  let i = start;
  while (i < lines.length && lines[i].indent === indent && (lines[i].text.startsWith('- ') || lines[i].text === '-')) {
    const rest = lines[i].text.slice(1).trim();
    if (rest === '') throw unsupported(lines[i].number, 'sequence items spanning lines');
    if (/^[^"'[][^:]*:(\s|$)/.test(rest)) throw unsupported(lines[i].number, 'mappings inside sequences');
    list.push(inlineValue(rest, lines[i].number));
    i++;
  }
  return [list, i];
}

function inlineValue(text: string, line: number): YamlValue {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) throw unsupported(line, 'a flow sequence spanning lines');
    const body = text.slice(1, -1).trim();
    if (body === '') return [];
    const items: YamlValue[] = [];
    const item = /\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^,"'[\]{}]+)\s*(,|$)/y;
    let match: RegExpExecArray | null;
    while (item.lastIndex < body.length && (match = item.exec(body))) items.push(scalar(match[1].trim(), line));
    if (item.lastIndex < body.length) throw unsupported(line, `flow sequence "${text}"`);
    return items;
  }
  if (/^[{&*|>!]/.test(text)) throw unsupported(line, `"${text}" (flow mappings, anchors, block scalars, tags)`);
  return scalar(text, line);
}

function scalar(text: string, line: number): YamlValue {
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw unsupported(line, `unterminated string ${text}`);
    return JSON.parse(text) as string;
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw unsupported(line, `unterminated string ${text}`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  return text === '~' || text === 'null' ? null : text;
}

/** Drops a `#` comment that is not inside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

function unsupported(line: number, what: string): Error {
  return new Error(`docker-compose.yml line ${line}: ${what} is outside the YAML subset the compose checks read.`);
}
