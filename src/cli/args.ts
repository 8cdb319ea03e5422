// Command-line arguments for every imagebox command. Not node:util's parseArgs:
// on Node 20 it reads "-100" as an unknown option, and region coordinates may be
// negative (OpenSlide's read_region takes them). Errors are UsageError: one line,
// exit status 2, no stack.

export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

const NUMBER = /^-\d+(?:\.\d+)?$/;

/**
 * Options are `--name value`, `--name=value`, `-x value` (short), booleans
 * `--name`; "--" ends the options; a negative number is a positional.
 */
export function parseCommandLine(argv: readonly string[], spec: Record<string, OptionSpec>, usage: string): Parsed {
  const values: Parsed['values'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  for (const [name, o] of Object.entries(spec)) if (o.multiple) values[name] = [];
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (rest || !a.startsWith('-') || a === '-' || NUMBER.test(a)) {
      positionals.push(a);
      continue;
    }
    if (a === '--') {
      rest = true;
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else if (a.length === 2) {
      name = byShort.get(a[1]!);
    }
    const o = name === undefined ? undefined : spec[name];
    if (!o || name === undefined) throw new UsageError(`unknown option ${a.slice(0, 64)}`, usage);
    if (o.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`, usage);
      values[name] = true;
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`, usage);
    if (o.multiple) (values[name] as string[]).push(v);
    else values[name] = v;
  }
  return { values, positionals };
}

/** An integer in [min, max], or a UsageError naming the argument. */
export function integerArg(name: string, s: string | undefined, min: number, max: number, usage: string): number {
  const n = Number(s);
  if (s === undefined || !/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, not "${(s ?? '').slice(0, 32)}"`, usage);
  }
  return n;
}
