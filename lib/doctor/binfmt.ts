/**
 * Doctor check: an arch the default engine is not and that has no engine of its own builds under
 * qemu, which the kernel runs through binfmt_misc (`qemu-<name>`, enabled). The engine's BuildKit
 * listing the platform counts too (it found an emulator when it started).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { missing, ok, type CheckRow } from "./check.ts";

/** Where the kernel lists binfmt_misc handlers. */
export const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

/** qemu's name of each arch (the binfmt handler is `qemu-<name>`). */
const QEMU_NAMES: Record<string, string> = {
  amd64: "x86_64", arm64: "aarch64", arm: "arm", "386": "i386", ppc64le: "ppc64le", s390x: "s390x", riscv64: "riscv64", mips64le: "mips64el", loong64: "loongarch64",
};

/** The binfmt row of `arch`: its qemu handler in `dir`, or `platforms` (the engine's BuildKit's) listing it. */
export function binfmtRow(arch: string, platforms: string[] | undefined, dir = BINFMT_DIR): CheckRow {
  const check = `binfmt ${arch}`;
  const handler = join(dir, `qemu-${QEMU_NAMES[arch] ?? arch}`);
  let text: string | undefined;
  try {
    text = readFileSync(handler, "utf8");
  } catch {
    // No handler registered for it.
  }
  const field = (name: string) => new RegExp(`^${name}:? (.*)$`, "m").exec(text ?? "")?.[1];
  if (text?.startsWith("enabled")) return ok(check, `${handler} enabled (interpreter ${field("interpreter") ?? "?"}, flags ${field("flags") ?? "none"})`);
  if (platforms?.includes(`linux/${arch}`)) return ok(check, `the engine's builder lists linux/${arch}`);
  const found = text ? `${handler} is disabled` : `no ${handler}, and the engine's builder does not list linux/${arch}`;
  return missing(check, found,
    `register qemu for ${arch} (\`docker run --privileged --rm tonistiigi/binfmt --install ${arch}\`, or Debian: apt-get install qemu-user-static binfmt-support${text ? `; or echo 1 > ${handler}` : ""}), or build ${arch} on a native engine: --builders ${arch}=ssh://user@host`);
}
