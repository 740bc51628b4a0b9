/**
 * Reading an experiment file (`--config FILE`): strict JSON (RFC 8259: no comments, no trailing commas),
 * validated by `experimentFileSchema`. A bad file gets every problem at once, each at its line and column:
 * jsonc-parser recovers from syntax errors and gives every node's offset, so zod's issue paths map back to
 * the text. Relative `data` and `test` paths are resolved against the file's folder.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  findNodeAtLocation,
  getNodeValue,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';
import {
  applyExperiment,
  ConfigError,
  type ConfigProblem,
  crossProblems,
  type ExperimentConfig,
  type ExperimentFile,
  experimentProblems,
  keyPath,
} from './config.ts';

export interface ExperimentFileRead {
  path: string;
  /** The file's keys, validated; `data` and `test` resolved against the file's folder. */
  values: ExperimentFile;
  /** Line and column (1-based) of a key path in the file, when the file has that key. */
  locate(path: readonly (string | number)[]): { line: number; column: number } | undefined;
}

/** jsonc-parser's error names (`printParseErrorCode`) in words. */
const SYNTAX: Record<string, string> = {
  InvalidSymbol: 'invalid symbol',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a key in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'expected the end of the file',
  InvalidCommentToken: 'JSON allows no comments',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character (control characters must be escaped)',
};

/** Maps offsets to 1-based line and column. */
function lineIndex(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

/** The node a problem at `path` is best shown at: the key for an unknown key, else the value or its parent. */
function nodeFor(root: Node, path: readonly (string | number)[], atKey: boolean): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, path.slice(0, n) as (string | number)[]);
    if (!node) continue;
    if (n === path.length && atKey && node.parent?.type === 'property') return node.parent.children?.[0];
    return node;
  }
  return undefined;
}

/** Duplicate keys (JSON.parse keeps the last silently): each one is a problem. */
function duplicates(node: Node, at: (o: number) => { line: number; column: number }): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const walk = (n: Node, path: (string | number)[]) => {
    if (n.type === 'object') {
      const seen = new Map<string, Node>();
      for (const prop of n.children ?? []) {
        const key = prop.children?.[0];
        if (!key || typeof key.value !== 'string') continue;
        const first = seen.get(key.value);
        if (first) {
          const p = at(first.offset);
          out.push({
            path: [...path, key.value],
            message: `duplicate key (first at line ${p.line}, column ${p.column})`,
            ...at(key.offset),
          });
        } else seen.set(key.value, key);
        const value = prop.children?.[1];
        if (value) walk(value, [...path, key.value]);
      }
    } else if (n.type === 'array') {
      (n.children ?? []).forEach((c, i) => {
        walk(c, [...path, i]);
      });
    }
  };
  walk(node, []);
  return out;
}

/** `FILE:LINE:COL: "key" problem` lines under one heading line. */
export function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  const n = problems.length;
  const lines = problems.map((p) => {
    const where = p.line === undefined ? file : `${file}:${p.line}:${p.column}`;
    return `  ${where}: ${p.path.length ? `"${keyPath(p.path)}" ` : ''}${p.message}`;
  });
  return [`experiment file ${file}: ${n} problem${n === 1 ? '' : 's'}`, ...lines].join('\n');
}

/** Parses and validates the text of an experiment file; throws a ConfigError listing every problem. */
export function parseExperimentText(text: string, file: string): ExperimentFileRead {
  const at = lineIndex(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  const problems: ConfigProblem[] = [];
  const reported = new Set<number>();
  for (const e of errors) {
    let offset = e.offset;
    const code = printParseErrorCode(e.error);
    let message = SYNTAX[code] ?? `JSON syntax error (${code})`;
    if (code === 'PropertyNameExpected' || code === 'ValueExpected') {
      // `,}` or `,]`: say so, at the comma
      const before = text.slice(0, e.offset).trimEnd();
      if (before.endsWith(',') && /^\s*[}\]]/.test(text.slice(e.offset))) {
        offset = before.length - 1;
        message = 'trailing comma (JSON allows none)';
      }
    }
    if (reported.has(offset)) continue;
    reported.add(offset);
    problems.push({ path: [], message, ...at(offset) });
  }
  const locate = (path: readonly (string | number)[], atKey = false) => {
    const node = root && nodeFor(root, path, atKey);
    return node ? at(node.offset) : undefined;
  };
  let values: ExperimentFile | null = null;
  if (text.trim() === '') {
    problems.splice(0, problems.length, { path: [], message: 'the file is empty: expected a JSON object' });
  } else if (!root) {
    if (!problems.length) problems.push({ path: [], message: 'the file is empty: expected a JSON object' });
  } else {
    problems.push(...duplicates(root, at));
    const checked = experimentProblems(getNodeValue(root));
    values = checked.value;
    for (const p of checked.problems) {
      problems.push({ ...p, ...locate(p.path, p.message.startsWith('unknown key')) });
    }
  }
  if (problems.length || !values) {
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new ConfigError(formatProblems(file, problems), problems);
  }
  const base = resolve(file, '..');
  const resolved: ExperimentFile = { ...values };
  if (values.data !== undefined) resolved.data = resolve(base, values.data);
  if (typeof values.test === 'string') resolved.test = resolve(base, values.test);
  return { path: file, values: resolved, locate: (p) => locate(p) };
}

/** Reads an experiment file; a missing or unreadable file is a ConfigError too. */
export function readExperimentFile(file: string): ExperimentFileRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `experiment file ${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (e as Error).message})`}`,
    );
  }
  return parseExperimentText(text, file);
}

/**
 * The run's config: `base` (the command's defaults), then the file's keys, then the flags'. Checks across
 * keys run on the result, and a problem at a key the file sets is shown at its line.
 */
export function resolveExperiment(
  base: ExperimentConfig,
  file: ExperimentFileRead | null,
  flags: ExperimentFile,
): ExperimentConfig {
  let c = base;
  if (file) c = applyExperiment(c, file.values);
  c = applyExperiment(c, flags);
  const problems = crossProblems(c).map((p) => ({ ...p, ...file?.locate(p.path) }));
  if (problems.length) {
    throw new ConfigError(
      file
        ? formatProblems(file.path, problems)
        : `config: ${problems.map((p) => `"${keyPath(p.path)}" ${p.message}`).join('; ')}`,
      problems,
    );
  }
  return c;
}
