// The tag template: the part of Go's text/template LinuxKit's tags use, and nothing else.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hashUses, parseTagTemplate, renderTag } from "../../lib/tagtemplate.ts";

const render = (t: string, hash = "H") => {
  const parsed = parseTagTemplate(t);
  if (typeof parsed === "string") throw new Error(parsed);
  return renderTag(parsed, hash);
};

test("{{.Hash}} is replaced wherever it is, with Go's padding inside the braces; other text is kept", () => {
  assert.is(render("{{.Hash}}"), "H");
  assert.is(render("v1-{{.Hash}}"), "v1-H");
  assert.is(render("{{ .Hash }}-x"), "H-x");
  assert.is(render("{{\t.Hash\n}}"), "H");
  assert.is(render("a{{.Hash}}b{{ .Hash}}c"), "aHbHc");
  assert.is(render("x}}y"), "x}}y", "a lone }} is text, as in Go");
});

test("fixed text alone is a fixed tag; an empty template is the default", () => {
  assert.is(render("file"), "file");
  assert.is(hashUses(parseTagTemplate("file") as never), 0);
  assert.is(render(""), "H");
  assert.is(hashUses(parseTagTemplate("{{.Hash}}-{{.Hash}}") as never), 2);
});

test("any other action is refused, naming it", () => {
  const cases: [string, string][] = [
    ["{{.Arch}}", `"{{.Arch}}" is a template action pkgkit does not support`],
    ["v{{- .Hash}}", `"{{- .Hash}}" is a template action pkgkit does not support`],
    ["{{.Hash -}}", `"{{.Hash -}}" is a template action pkgkit does not support`],
    ["{{/* note */}}{{.Hash}}", `"{{/* note */}}" is a template action pkgkit does not support`],
    ['{{printf "%s" .Hash}}', `"{{printf \\"%s\\" .Hash}}" is a template action pkgkit does not support`],
    ["{{$.Hash}}", `"{{$.Hash}}" is a template action pkgkit does not support`],
    ["{{.Hashes}}", `"{{.Hashes}}" is a template action pkgkit does not support`],
    ["v1-{{.Hash", `"{{.Hash" is an unclosed action`],
  ];
  for (const [template, message] of cases) {
    const parsed = parseTagTemplate(template);
    assert.type(parsed, "string", template);
    assert.ok((parsed as string).startsWith(message), `${template}: ${parsed as string}`);
    assert.ok((parsed as string).endsWith("the only action a tag may hold is {{.Hash}}"), template);
  }
});

test.run();
