import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { nearestName } from './nearest-name.js';

/** Option checks shared by the constructors and the decorators; `where` names the options object in errors. */
type Options = Record<string, unknown>;

export function positiveInteger(options: Options, name: string, where?: string, allowZero = false): void {
  const value = options[name];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidOptionsError(
      name,
      `expected a whole number ${allowZero ? '>= 0' : '>= 1'}, got ${JSON.stringify(value)}.`,
      where,
    );
  }
}

export function nonEmptyString(options: Options, name: string, where?: string): void {
  const value = options[name];
  if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
    throw new InvalidOptionsError(name, `expected a non-empty string, got ${JSON.stringify(value)}.`, where);
  }
}

export function oneOf(options: Options, name: string, allowed: readonly string[], where?: string): void {
  const value = options[name];
  if (value !== undefined && !allowed.includes(value as string)) {
    const list = allowed.map((a) => `'${a}'`);
    const expected = `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
    throw new InvalidOptionsError(name, `expected ${expected}, got ${JSON.stringify(value)}.`, where);
  }
}

/** Refuses option names that aren't `known` (a typo would otherwise be ignored silently), naming the nearest one. */
export function knownNames(options: object, known: readonly string[], where: string, hint = ''): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const nearest = nearestName(name, known);
    throw new InvalidOptionsError(
      name,
      `unknown option${nearest ? `; did you mean \`${nearest}\`?` : '.'} ${where} takes ${known.map((k) => `\`${k}\``).join(', ')}.${hint}`,
      where,
    );
  }
}

/**
 * Lists every option name of `T`, checked by the compiler both ways: a name `T` doesn't have is an error, and so is
 * one `T` has that the list leaves out (`missing` names it), so a new option can't be refused as unknown.
 */
export function allNames<T>() {
  return <const L extends readonly (keyof T & string)[]>(
    names: L & ([Exclude<keyof T, L[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, L[number]> }),
  ): readonly string[] => names;
}
