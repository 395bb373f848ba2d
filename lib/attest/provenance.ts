/**
 * The SLSA v1 provenance predicate of an arch image (https://slsa.dev/provenance/v1). buildType
 * `https://pkgkit.dev/build/v1` means: pkgkit built the package directory `externalParameters.package`
 * at the git source in resolvedDependencies for `arch`, with `buildArgs`, on `builder`, and tagged it
 * `tag`. The start and finish times are the only fields that differ between two builds of the same
 * inputs; they live in the attestation, never in the image.
 */
import { PKGKIT_VERSION } from "../version.ts";
import { describedPackage } from "./inventory.ts";
import { purl } from "./pkgdb.ts";
import type { AttestSubject } from "./sbom.ts";

/** The build type URI of pkgkit's provenance; its parameters are those of `ProvenanceInput`. */
export const PKGKIT_BUILD_TYPE = "https://pkgkit.dev/build/v1";
/** The predicate type cosign's `--type slsaprovenance1` looks for. */
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";

/** What a build knew: the image and its source, the tag, build args, builder, base images as the engine resolved them, and when. */
export interface ProvenanceInput {
  subject: AttestSubject;
  tag: string;
  buildArgs: Record<string, string>;
  builder: { id: string; kind: string; engine?: string };
  baseImages: { ref: string; digest: string }[];
  startedOn: Date;
  finishedOn: Date;
  invocationId?: string;
}

/** An in-toto ResourceDescriptor, with the fields pkgkit writes. */
interface ResourceDescriptor {
  uri: string;
  digest?: Record<string, string>;
  name?: string;
  annotations?: Record<string, string>;
}

const timestamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");
const sorted = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** `pkg:docker/<path>@<tag>?platform=linux/<arch>` for a base image reference, as BuildKit names them. */
function baseImageUri(ref: string, arch: string): string {
  const withoutDigest = ref.replace(/@sha256:[0-9a-f]{64}$/, "");
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  const [path, tag] = colon > slash ? [withoutDigest.slice(0, colon), withoutDigest.slice(colon + 1)] : [withoutDigest, "latest"];
  const cut = path.lastIndexOf("/");
  return purl("docker", cut < 0 ? undefined : path.slice(0, cut), path.slice(cut + 1), tag, { platform: `linux/${arch}` });
}

/** The git source: the remote (or the package directory alone) with the commit and, when it is a git tree id, the tree. */
function sourceDependency(subject: AttestSubject): ResourceDescriptor {
  const { dir, tree, commit } = subject.source;
  const digest: Record<string, string> = {};
  if (commit) digest.gitCommit = commit;
  if (/^[0-9a-f]{40}$/.test(tree)) digest.gitTree = tree;
  return {
    uri: describedPackage(subject).downloadLocation ?? `pkgkit:package/${dir}`,
    ...(Object.keys(digest).length ? { digest } : {}),
    name: dir,
    annotations: { "pkgkit.dev/tag-hash": tree },
  };
}

/**
 * The SLSA v1 provenance of an arch image built by pkgkit.
 *
 * @example
 * const { predicateType, predicate } = provenancePredicate({ subject, tag, buildArgs: {}, builder: { id, kind: "buildx" }, baseImages: [], startedOn, finishedOn });
 */
export function provenancePredicate(input: ProvenanceInput): { predicateType: typeof SLSA_PROVENANCE_V1; predicate: unknown } {
  const { subject } = input;
  const baseImages: ResourceDescriptor[] = input.baseImages.map((b) => ({
    uri: baseImageUri(b.ref, subject.arch), digest: { sha256: b.digest.replace(/^sha256:/, "") }, name: b.ref,
  }));
  return {
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: PKGKIT_BUILD_TYPE,
        externalParameters: {
          package: subject.source.dir,
          tag: input.tag,
          arch: subject.arch,
          buildArgs: sorted(input.buildArgs),
          builder: { kind: input.builder.kind, ...(input.builder.engine ? { engine: input.builder.engine } : {}) },
        },
        internalParameters: { pkgkitVersion: PKGKIT_VERSION },
        resolvedDependencies: [sourceDependency(subject), ...baseImages],
      },
      runDetails: {
        builder: { id: input.builder.id, version: { pkgkit: PKGKIT_VERSION } },
        metadata: {
          ...(input.invocationId ? { invocationId: input.invocationId } : {}),
          startedOn: timestamp(input.startedOn),
          finishedOn: timestamp(input.finishedOn),
        },
      },
    },
  };
}
