// Run it: npx tsx examples/hello/pkg.config.ts build --org wombat --disable-content-trust
import { definePackage } from "pkgkit";

export default definePackage({
  image: "hello",
  org: "pkgkit-examples",
  arches: ["amd64", "arm64"],
  network: false,
  labels: { "org.opencontainers.image.title": "hello" },
});
