/**
 * The base images of a build, for its provenance: the `FROM` images of the Dockerfile that are
 * not `scratch` nor an earlier stage, with build args (and the global `ARG` defaults before the
 * first `FROM`) put in, as BuildKit expands them. Which image each one was is asked of the engine
 * afterwards (BuildKit v0.8 in the engine reports nothing about it).
 */

/** The images `FROM` names in `dockerfile`, expanded with `buildArgs`, in order, each once. */
export function baseImageRefs(dockerfile: string, buildArgs: Record<string, string>): string[] {
  const globals: Record<string, string> = {};
  const stages = new Set<string>();
  const refs: string[] = [];
  let seenFrom = false;
  // Line continuations joined; comments and blank lines dropped.
  const lines = dockerfile.replace(/\\\r?\n/g, " ").split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const word = instruction!.toUpperCase();
    if (word === "ARG" && !seenFrom) {
      for (const decl of rest) {
        const eq = decl.indexOf("=");
        const name = eq < 0 ? decl : decl.slice(0, eq);
        globals[name] = buildArgs[name] ?? (eq < 0 ? globals[name] ?? "" : decl.slice(eq + 1).replace(/^"(.*)"$/, "$1"));
      }
    } else if (word === "FROM") {
      seenFrom = true;
      const args = rest.filter((a) => !a.startsWith("--"));
      const image = expand(args[0] ?? "", { ...globals, ...buildArgs });
      if (image && image !== "scratch" && !stages.has(image.toLowerCase()) && !image.includes("$") && !refs.includes(image)) refs.push(image);
      if (args[1]?.toUpperCase() === "AS" && args[2]) stages.add(args[2].toLowerCase());
    }
  }
  return refs;
}

/** `$NAME` and `${NAME}` replaced by their values (unset: empty), as in a Dockerfile's FROM. */
const expand = (text: string, values: Record<string, string>) =>
  text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => values[(a ?? b)!] ?? "");
