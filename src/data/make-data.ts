// Regenerates the shipped data set (data/tracks.csv, data/listens.csv) from the default generated world: `npm run data`.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type GenerateOptions, generateWorld } from './generate.js';
import { saveListensAndTracks } from './loaders.js';

/** The options the shipped data set is generated with (the {@link generateWorld} defaults, seed 42). */
export const SHIPPED_DATA_OPTIONS: Readonly<GenerateOptions> = Object.freeze({ seed: 42 });

/**
 * Generates the shipped world and writes `tracks.csv` and `listens.csv` into `dir` (which must exist).
 * The output is byte-for-byte identical on every run.
 *
 * @returns the paths written and the number of tracks and listens.
 * @example
 * ```ts
 * await writeShippedData('data'); // what `npm run data` does
 * ```
 */
export async function writeShippedData(
  dir: string,
): Promise<{ tracksFile: string; listensFile: string; tracks: number; listens: number }> {
  const world = generateWorld(SHIPPED_DATA_OPTIONS);
  const tracksFile = join(dir, 'tracks.csv');
  const listensFile = join(dir, 'listens.csv');
  await saveListensAndTracks(listensFile, world.listens, tracksFile, world.tracks);
  return { tracksFile, listensFile, tracks: world.tracks.length, listens: world.listens.length };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? 'data');
  const out = await writeShippedData(dir);
  console.log(
    `Wrote ${out.tracks} tracks to ${out.tracksFile} and ${out.listens} listens to ${out.listensFile}`,
  );
}
