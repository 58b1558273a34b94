// ingot's own name and version, recorded in every manifest and SBOM as the builder.
export const BUILDER_NAME = "ingot";
export const BUILDER_VERSION = "0.1.0";
