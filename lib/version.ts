/** pkgkit's version (package.json's), recorded in the images it builds. */
export const PKGKIT_VERSION = "0.1.0";
