# pkgkit's own package (see pkg.config.ts): the SDK sources, as a data image.
FROM scratch
COPY package.json package-lock.json tsconfig.json README.md /pkgkit/
COPY lib /pkgkit/lib
COPY recipes /pkgkit/recipes
