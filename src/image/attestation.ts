// Where an image came from, as an in-toto statement with a SLSA v1 provenance predicate, filed
// beside the image in the vault (never in the manifest): the source commit, the builder, the locked
// inputs and the build's times, none of which may change what the image holds.
import { lockInputs } from "../lock/lock-inputs.ts";
import type { LockFile } from "../lock/lock-file.ts";

export const PROVENANCE_TYPE = "https://slsa.dev/provenance/v1";
export const BUILD_TYPE = "https://github.com/ingot-dev/ingot/build/v1";

export interface ProvenanceInputs {
  /** name:version */
  image: string;
  digest: string;
  source: { commit: string | null; dirty: boolean };
  lock: LockFile;
  locked: boolean;
  builder: string;
  startedAt: Date;
  finishedAt: Date;
}

export interface ProvenanceStatement {
  _type: "https://in-toto.io/Statement/v1";
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof PROVENANCE_TYPE;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: { image: string; locked: boolean };
      internalParameters: { dirty: boolean };
      resolvedDependencies: { name: string; uri?: string; digest: Record<string, string> }[];
    };
    runDetails: { builder: { id: string }; metadata: { startedOn: string; finishedOn: string } };
  };
}

/**
 * @example
 * const statement = provenanceStatement({ image: "hello:1.0.0", digest, source: { commit: "3f2c…", dirty: false }, lock, … });
 * await vault.addAttestation(digest, statement);
 */
export function provenanceStatement(inputs: ProvenanceInputs): ProvenanceStatement {
  const source = inputs.source.commit ? [{ name: "source", uri: "git", digest: { gitCommit: inputs.source.commit } }] : [];
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: inputs.image, digest: { sha256: inputs.digest.replace(/^sha256:/, "") } }],
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: { image: inputs.image, locked: inputs.locked },
        internalParameters: { dirty: inputs.source.dirty },
        resolvedDependencies: [
          ...source,
          ...lockInputs(inputs.lock).map((input) => ({ name: `${input.kind}:${input.name}`, ...(input.purl ? { uri: input.purl } : {}), digest: { sha256: input.sha256 } })),
        ],
      },
      runDetails: {
        builder: { id: inputs.builder },
        metadata: { startedOn: inputs.startedAt.toISOString(), finishedOn: inputs.finishedAt.toISOString() },
      },
    },
  };
}
