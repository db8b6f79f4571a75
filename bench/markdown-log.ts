// Prints a benchmark's report and keeps a copy, so the same text lands in bench/results/<name>.md for the README.
import path from 'node:path';
import { writeFileAtomic } from '../src/util/fs.js';

/** A console.log that also records what it printed. */
export interface MarkdownLog {
  log: (...parts: unknown[]) => void;
  /** Writes `bench/results/<name>.md`: `intro`, then everything logged, as a text block (atomic write). */
  write: (name: string, intro: string) => Promise<string>;
}

/**
 * Creates a recording logger for a benchmark script.
 *
 * @example
 * ```ts
 * const md = createMarkdownLog();
 * md.log(formatTable(columns, rows));
 * await md.write('blend', 'Measured by `npx tsx bench/blend.ts`.');
 * ```
 */
export function createMarkdownLog(): MarkdownLog {
  const lines: string[] = [];
  return {
    log: (...parts) => {
      const text = parts.map(String).join(' ');
      console.log(text);
      lines.push(text);
    },
    write: async (name, intro) => {
      const file = path.join('bench', 'results', `${name}.md`);
      await writeFileAtomic(file, `${intro.trim()}\n\n\`\`\`text\n${lines.join('\n').trim()}\n\`\`\`\n`);
      return file;
    },
  };
}
