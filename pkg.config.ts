// pkgkit's own package: an image holding the SDK's sources, built by pkgkit itself.
//   npx tsx pkg.config.ts plan|build|show-tag
import { definePackage } from "./lib/index.ts";

export default definePackage({
  image: "pkgkit",
  org: "pkgkit",
  arches: ["amd64", "arm64"],
  labels: { "org.opencontainers.image.title": "pkgkit SDK sources" },
});
