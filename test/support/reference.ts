/**
 * The contracts the tests hold idflow to, from `../shared/reference` (beside the repository), vendored in
 * test/fixtures/reference so a clone anywhere tests the same way; test/unit/reference-copies.test.ts fails when a
 * copy drifts from the shared original.
 */
export const REFERENCE_FILES = ['kratos-openapi.json', 'identity.schema.example.json', 'kratos-config.schema.json'] as const;

/** The vendored copy of a reference file. */
export const referenceUrl = (name: (typeof REFERENCE_FILES)[number]): URL => new URL(`../fixtures/reference/${name}`, import.meta.url);

/** The shared original (present when the repository sits beside `shared/`). */
export const sharedReferenceUrl = (name: (typeof REFERENCE_FILES)[number]): URL => new URL(`../../../shared/reference/${name}`, import.meta.url);
