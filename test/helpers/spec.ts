// DevRev's OpenAPI documents (../shared), read for Ajv: see rewriteDiscriminator.
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";

const SHARED = new URL("../../../../shared/devrev/", import.meta.url);
const LOCAL = new URL("../../../test/fixtures/", import.meta.url);

/** A spec by file name, from ../shared, or the test fixtures' copy where ../shared is absent. */
export function loadSpec(file = "dev-users.openapi.yaml"): any {
  const shared = new URL(file, SHARED);
  const path = existsSync(shared) ? shared : new URL(file, LOCAL);
  const spec = parse(readFileSync(path, "utf8"));
  for (const schema of Object.values(spec.components.schemas)) rewriteDiscriminator(schema, spec.components.schemas);
  return spec;
}

export function specExists(file: string): boolean {
  return existsSync(new URL(file, SHARED)) || existsSync(new URL(file, LOCAL));
}

/**
 * Ajv cannot read OpenAPI discriminators with mappings, and without them a `oneOf` of subtypes that
 * all require `field_name` matches several at once. So each discriminator becomes "if the property
 * says X, then schema X". A mapped subtype's `additionalProperties: false` means "no fields of its
 * own" in OpenAPI, not "no type or message", so it is dropped from the mapped schemas.
 */
function rewriteDiscriminator(node: any, schemas: Record<string, any>): void {
  if (!node || typeof node !== "object") return;
  if (node.discriminator?.mapping && node.oneOf) {
    const prop = node.discriminator.propertyName;
    node.allOf = [
      ...(node.allOf ?? []),
      ...Object.entries(node.discriminator.mapping as Record<string, string>).map(([value, ref]) => {
        const target = schemas[ref.split("/").pop()!];
        if (target?.additionalProperties === false) delete target.additionalProperties;
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
        return { if: { properties: { [prop]: { const: value } }, required: [prop] }, then: { $ref: ref } };
      }),
    ];
    node.properties = { ...node.properties, [prop]: { ...node.properties?.[prop] } };
    delete node.oneOf;
    delete node.discriminator;
  }
  for (const value of Object.values(node)) rewriteDiscriminator(value, schemas);
}
