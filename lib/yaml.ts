/**
 * YAML as pkgkit reads it (build.yml, pkgkit.yml, LinuxKit's config.yml): in time linear in the
 * text, and with aliases bounded, so that a small file cannot expand into a huge value (an
 * "alias bomb"). Problems come back with their line and column; the caller names the file.
 */
import { isAlias, isCollection, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Alias, type Document, type Node } from "yaml";

/** Alias nodes (`*name`) a file may hold. */
export const MAX_ALIASES = 100;
/** Nodes the aliases may add, all together, once expanded. */
export const MAX_ALIAS_EXPANSION = 10_000;
/** Mappings and sequences inside each other: what pkgkit reads nests a few levels. */
export const MAX_DEPTH = 64;

export interface YamlProblem {
  message: string;
  line?: number;
  column?: number;
}

export type Locator = (offset: number | undefined) => { line?: number; column?: number };

export type ParsedYaml = { doc: Document.Parsed; value: unknown; at: Locator } | { problems: YamlProblem[] };

export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  const at: Locator = (offset) => (offset === undefined ? {} : { line: lines.linePos(offset).line, column: lines.linePos(offset).col });
  try {
    // yaml's own duplicate-key check compares each key with every other one: quadratic. keysOnce is linear.
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
    if (doc.errors.length > 0) {
      // The parser catches its own stack overflow; say what it means for the file.
      const message = (e: Error) => (e.message.startsWith("Maximum call stack size exceeded") ? "nested too deeply" : e.message.split("\n")[0]);
      return { problems: doc.errors.slice(0, 10).map((e) => ({ message: `invalid YAML: ${message(e)}`, ...at(e.pos[0]) })) };
    }
    const problem = shallow(doc, at) ?? keysOnce(doc, at) ?? boundedAliases(doc, at);
    if (problem) return { problems: [problem] };
    // Aliases are bounded above; yaml's own bound would refuse some files within them.
    return { doc, value: doc.toJS({ maxAliasCount: -1 }), at };
  } catch (e) {
    // The parser and toJS recurse: a deep enough nesting overflows the stack.
    if (e instanceof RangeError) return { problems: [{ message: "invalid YAML: nested too deeply" }] };
    throw e;
  }
}

/** At most MAX_DEPTH collections inside each other (deeper, the parser itself may overflow its stack first). */
function shallow(doc: Document, at: Locator): YamlProblem | undefined {
  let found: YamlProblem | undefined;
  visit(doc, {
    Node(_, node, path) {
      if (isCollection(node) && path.filter(isCollection).length >= MAX_DEPTH) {
        found = { message: `invalid YAML: nested too deeply: more than ${MAX_DEPTH} levels`, ...at(node.range?.[0]) };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Duplicate keys in a mapping, found with one set per mapping. */
function keysOnce(doc: Document, at: Locator): YamlProblem | undefined {
  let found: YamlProblem | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const k = `${typeof pair.key.value}:${String(pair.key.value)}`;
        if (seen.has(k)) {
          found = { message: `invalid YAML: Map keys must be unique; ${JSON.stringify(String(pair.key.value))} appears more than once`, ...at(pair.key.range?.[0]) };
          return visit.BREAK;
        }
        seen.add(k);
      }
      return undefined;
    },
  });
  return found;
}

/**
 * At most MAX_ALIASES aliases, adding at most MAX_ALIAS_EXPANSION nodes once expanded, and none
 * inside the node it refers to. An alias refers to the last node with its anchor before it, in
 * document order (as yaml resolves it); sizes are counted once per node, so this is linear too.
 */
function boundedAliases(doc: Document, at: Locator): YamlProblem | undefined {
  const target = new Map<Alias, Node>();
  const anchors = new Map<string, Node>();
  let count = 0;
  let problem: YamlProblem | undefined;
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        if (++count > MAX_ALIASES) {
          problem = { message: `more than ${MAX_ALIASES} YAML aliases (*${node.source}); a file may hold at most ${MAX_ALIASES}`, ...at(node.range?.[0]) };
          return visit.BREAK;
        }
        const t = anchors.get(node.source);
        if (t) target.set(node, t);
      } else if (node.anchor) anchors.set(node.anchor, node);
      return undefined;
    },
  });
  if (problem || count === 0) return problem;

  const size = new Map<Node, number>();
  const open = new Set<Node>();
  let added = 0;
  const expanded = (n: unknown): number => {
    if (problem) return 0;
    if (isPair(n)) return expanded(n.key) + expanded(n.value);
    if (isAlias(n)) {
      const t = target.get(n);
      if (!t) return 0;
      if (open.has(t)) {
        problem = { message: `YAML alias *${n.source} is inside the node it refers to, so it never ends`, ...at(n.range?.[0]) };
        return 0;
      }
      const s = expanded(t);
      added += s;
      if (added > MAX_ALIAS_EXPANSION && !problem)
        problem = { message: `YAML aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes (at *${n.source}); a file's aliases may add at most ${MAX_ALIAS_EXPANSION}`, ...at(n.range?.[0]) };
      return s;
    }
    if (!isNode(n)) return 0;
    const known = size.get(n);
    if (known !== undefined) return known;
    open.add(n);
    let s = 1;
    if (isCollection(n)) for (const item of n.items as unknown[]) s += expanded(item);
    open.delete(n);
    size.set(n, s);
    return s;
  };
  expanded(doc.contents);
  return problem;
}
