/** `pkgkit migrate <dir>`: write the pkg.config.ts equivalent of a package's build.yml. */
import process from "node:process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { ParsedOptions } from "./args.ts";
import { ExitCode, InputError } from "../errors.ts";
import { BUILD_YML, CONFIG_FILE } from "../load.ts";
import { MAX_CONFIG_BYTES, readTextLimited } from "../limits.ts";

/** `dir`: the one directory the command was given. */
export async function migrate(dir: string, o: ParsedOptions): Promise<number> {
  const yml = join(dir, BUILD_YML);
  const out = join(dir, CONFIG_FILE);
  if (!existsSync(yml)) throw new InputError(`${yml}: not found; migrate needs a LinuxKit ${BUILD_YML}`);
  if (existsSync(out) && !o.force) throw new InputError(`${out}: already exists; pass --force to overwrite`);
  const { fieldsSetIn, loadBuildYml, toConfigSource } = await import("../buildyml.ts");
  const def = await loadBuildYml(yml);
  await writeFile(out, toConfigSource(def.spec, fieldsSetIn(readTextLimited(yml, MAX_CONFIG_BYTES, `a ${BUILD_YML}`))));
  process.stderr.write(`wrote ${relative(process.cwd(), out) || out}; pkgkit now reads it instead of ${BUILD_YML}, which you can remove\n`);
  return ExitCode.ok;
}
