/**
 * The `tag` template, as LinuxKit reads it: a Go text/template executed with `{ Hash }`. pkgkit
 * takes the part of that language tags use: text kept as it is, and `{{.Hash}}` (spaces, tabs
 * or newlines allowed inside the braces, as Go's lexer allows them) replaced by the hash. Text
 * alone is a fixed tag (`tag: file`). Any other action (`{{- .Hash}}`, `{{printf ...}}`, a
 * comment, an unclosed `{{`) is refused, since pkgkit would not give it Go's meaning.
 */

/** The template LinuxKit and pkgkit use when none is given. */
export const DEFAULT_TAG_TEMPLATE = "{{.Hash}}";

/** The expected form, for messages. */
export const TAG_TEMPLATE_FORM = `text with {{.Hash}} where the hash goes, e.g. "v1-{{.Hash}}", or fixed text such as "v1"`;

// Go's lexer: space, tab, carriage return and newline may pad an action.
const HASH_ACTION = /^\{\{[ \t\r\n]*\.Hash[ \t\r\n]*\}\}/;

/** A template: its text pieces, with the hash going between each two. */
export interface TagTemplate {
  pieces: string[];
}

/** Parse a tag template; a string says what is wrong with it. An empty template is the default, as in LinuxKit. */
export function parseTagTemplate(template: string): TagTemplate | string {
  if (template === "") return { pieces: ["", ""] };
  const pieces: string[] = [];
  let text = "";
  for (let i = 0; i < template.length; ) {
    if (!template.startsWith("{{", i)) {
      text += template[i];
      i++;
      continue;
    }
    const action = HASH_ACTION.exec(template.slice(i));
    if (!action) {
      const end = template.indexOf("}}", i);
      const shown = end < 0 ? template.slice(i) : template.slice(i, end + 2);
      return `${JSON.stringify(shown)} is ${end < 0 ? "an unclosed action" : "a template action pkgkit does not support"}; the only action a tag may hold is {{.Hash}}`;
    }
    pieces.push(text);
    text = "";
    i += action[0].length;
  }
  pieces.push(text);
  return { pieces };
}

/** The tag a parsed template gives for `hash`. */
export const renderTag = (t: TagTemplate, hash: string): string => t.pieces.join(hash);

/** How many times the hash appears in the tag. */
export const hashUses = (t: TagTemplate): number => t.pieces.length - 1;
