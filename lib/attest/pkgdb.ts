/**
 * The operating-system packages installed in an image, from its own package databases: apk
 * (`/lib/apk/db/installed`) and dpkg (`/var/lib/dpkg/status`, and distroless's `status.d/`), each
 * with the files it installed and a package URL (`pkg:apk/alpine/...`, `pkg:deb/debian/...`).
 */
import { resolvePath, type Rootfs } from "./rootfs.ts";

/** A package an image's package manager recorded as installed. */
export interface OsPackage {
  manager: "apk" | "deb";
  name: string;
  version: string;
  arch: string;
  /** The source package (apk origin, dpkg Source) when it differs from the name. */
  origin?: string;
  /** The license as the database wrote it (apk `L:`; dpkg keeps none). */
  license?: string;
  /** apk's `C:`, the identity apk gives the package (`Q1` + base64 SHA-1 of its control segment): not a checksum of a file here. */
  apkChecksum?: string;
  /** The paths the database lists for it, absolute, directories included. */
  files: string[];
  purl: string;
}

/** The image's distribution, from /etc/os-release: `ID` and `VERSION_ID`. */
export interface OsRelease {
  id?: string;
  versionId?: string;
}

/** The text of a file in the image, following symlinks; undefined when absent or not a file. */
export function readImageText(fs: Rootfs, path: string): string | undefined {
  const node = fs.get(resolvePath(fs, path));
  return node?.type === "file" ? new TextDecoder().decode(node.data) : undefined;
}

/** ID and VERSION_ID of /etc/os-release (or /usr/lib/os-release), unquoted. */
export function osRelease(fs: Rootfs): OsRelease {
  const text = readImageText(fs, "/etc/os-release") ?? readImageText(fs, "/usr/lib/os-release") ?? "";
  const field = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(text)?.[1]?.trim().replace(/^(["'])(.*)\1$/, "$2") || undefined;
  return { id: field("ID"), versionId: field("VERSION_ID") };
}

/** Percent-encode a purl segment: everything but letters, digits and `.-_~+` (so a Debian epoch's `:` is `%3A`); `/` too unless `keepSlash` (qualifier values, as in the spec's `repository_url=docker.io/library/debian`). */
const purlEncode = (s: string, keepSlash = false) => Array.from(new TextEncoder().encode(s), (b) => {
  const c = String.fromCharCode(b);
  return /[A-Za-z0-9.\-_~+]/.test(c) || (keepSlash && c === "/") ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
}).join("");

/** `pkg:<type>[/<namespace segments>]/<name>@<version>?<qualifiers sorted by key>`, per the purl specification. */
export function purl(type: string, namespace: string | undefined, name: string, version: string, qualifiers: Record<string, string | undefined>): string {
  const q = Object.entries(qualifiers).filter((e): e is [string, string] => !!e[1]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = q.map(([k, v]) => `${k}=${purlEncode(v, true)}`).join("&");
  return `pkg:${type}/${namespace ? `${namespace.split("/").map((n) => purlEncode(n)).join("/")}/` : ""}${purlEncode(name)}@${purlEncode(version)}${query ? `?${query}` : ""}`;
}

const distroQualifier = (os: OsRelease) => (os.id && os.versionId ? `${os.id}-${os.versionId}` : undefined);

/** Packages of /lib/apk/db/installed: `P:` name, `V:` version, `A:` arch, `o:` origin, `L:` license, `C:` checksum, `F:`/`R:` directory and file. */
export function apkPackages(fs: Rootfs, os: OsRelease): OsPackage[] {
  const text = readImageText(fs, "/lib/apk/db/installed");
  if (text === undefined) return [];
  const packages: OsPackage[] = [];
  for (const record of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    const files: string[] = [];
    let dir = "";
    for (const line of record.split("\n")) {
      const m = /^([A-Za-z]):(.*)$/.exec(line);
      if (!m) continue;
      const [, key, value] = m as unknown as [string, string, string];
      if (key === "F") {
        dir = value;
        files.push(`/${dir}`);
      } else if (key === "R") files.push(dir ? `/${dir}/${value}` : `/${value}`);
      else fields[key] ??= value;
    }
    if (!fields.P || !fields.V) continue;
    const origin = fields.o && fields.o !== fields.P ? fields.o : undefined;
    packages.push({
      manager: "apk", name: fields.P, version: fields.V, arch: fields.A ?? "", files,
      ...(origin ? { origin } : {}), ...(fields.L ? { license: fields.L } : {}), ...(fields.C ? { apkChecksum: fields.C } : {}),
      purl: purl("apk", os.id ?? "alpine", fields.P, fields.V, { arch: fields.A, distro: distroQualifier(os), upstream: origin }),
    });
  }
  return packages;
}

/** The fields of a Debian control paragraph (continuation lines are dropped: no field read here has any). */
function controlFields(paragraph: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of paragraph.split("\n")) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) fields[m[1]!] = m[2]!.trim();
  }
  return fields;
}

/** The files dpkg lists for a package: info/<name>.list or info/<name>:<arch>.list, or distroless's status.d/<name>.md5sums. */
function dpkgFiles(fs: Rootfs, name: string, arch: string, md5sums?: string): string[] {
  const list = readImageText(fs, `/var/lib/dpkg/info/${name}.list`) ?? readImageText(fs, `/var/lib/dpkg/info/${name}:${arch}.list`);
  if (list !== undefined) return list.split("\n").map((l) => l.trim()).filter((l) => l && l !== "/.");
  const sums = md5sums === undefined ? undefined : readImageText(fs, md5sums);
  return sums === undefined ? [] : sums.split("\n").map((l) => /^[0-9a-f]+\s+(.+)$/.exec(l.trim())?.[1]).filter((p): p is string => !!p).map((p) => `/${p}`);
}

/** Installed packages (`Status: install ok installed`) of /var/lib/dpkg/status and /var/lib/dpkg/status.d/*. */
export function dpkgPackages(fs: Rootfs, os: OsRelease): OsPackage[] {
  const sources: { text: string; md5sums?: string }[] = [];
  const status = readImageText(fs, "/var/lib/dpkg/status");
  if (status !== undefined) sources.push({ text: status });
  const statusD = resolvePath(fs, "/var/lib/dpkg/status.d");
  for (const [path, node] of [...fs].sort(([a], [b]) => (a < b ? -1 : 1)))
    if (node.type === "file" && path.startsWith(`${statusD}/`) && !path.slice(statusD.length + 1).includes("/") && !path.endsWith(".md5sums"))
      sources.push({ text: new TextDecoder().decode(node.data), md5sums: `${path}.md5sums` });
  const packages: OsPackage[] = [];
  for (const { text, md5sums } of sources)
    for (const paragraph of text.split(/\n\s*\n/)) {
      const f = controlFields(paragraph);
      // status.d entries are installed by construction and often carry no Status field.
      if (!f.Package || !f.Version || (f.Status !== undefined ? f.Status !== "install ok installed" : md5sums === undefined)) continue;
      const arch = f.Architecture ?? "";
      const source = f.Source?.split(" ")[0];
      const origin = source && source !== f.Package ? source : undefined;
      packages.push({
        manager: "deb", name: f.Package, version: f.Version, arch, files: dpkgFiles(fs, f.Package, arch, md5sums),
        ...(origin ? { origin } : {}),
        purl: purl("deb", os.id ?? "debian", f.Package, f.Version, { arch, distro: distroQualifier(os), upstream: origin }),
      });
    }
  return packages;
}

/** Every installed package of the image, apk then dpkg, each sorted by name and version. */
export function osPackages(fs: Rootfs): OsPackage[] {
  const os = osRelease(fs);
  const order = (a: OsPackage, b: OsPackage) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0);
  return [...apkPackages(fs, os).sort(order), ...dpkgPackages(fs, os).sort(order)];
}
