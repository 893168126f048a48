/**
 * Source key templates (SOURCE_KEY_TEMPLATE, `masters/{id}.tif`) read backwards: from a key to
 * the identifier it was made from, and the prefix every source key starts with. Used by the
 * source store (to name a source in errors, to list identifiers), the purge function (S3 events)
 * and S3 Batch Operations manifests, whose keys arrive URL-encoded.
 */

/** What a key template contains where the identifier goes. */
export const ID_PLACEHOLDER = '{id}';

/**
 * The identifier whose source is `key`, or undefined when the key is not one the template
 * makes (another file in the bucket, a "folder" marker).
 */
export function identifierFromKey(template: string, key: string): string | undefined {
  const parts = template.split(ID_PLACEHOLDER);
  if (parts.length < 2) return undefined;
  const [prefix = '', ...rest] = parts;
  const suffix = rest[rest.length - 1] ?? '';
  if (!key.startsWith(prefix) || !key.endsWith(suffix) || key.length <= prefix.length + suffix.length) return undefined;
  let identifier: string;
  if (parts.length === 2) {
    identifier = key.slice(prefix.length, key.length - suffix.length);
  } else {
    // `{id}` more than once: every occurrence must be the same identifier.
    const pattern = new RegExp(`^${parts.map(escapeRegExp).join('(.+?)')}$`, 's');
    const match = pattern.exec(key);
    const first = match?.[1];
    if (match === null || first === undefined || match.slice(1).some((group) => group !== first)) return undefined;
    identifier = first;
  }
  return identifier !== '' && template.replaceAll(ID_PLACEHOLDER, identifier) === key ? identifier : undefined;
}

/** The part of the template before `{id}`: every source key starts with it. */
export function keyPrefix(template: string): string {
  return template.split(ID_PLACEHOLDER)[0] ?? '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Decode a key as S3 event notifications and S3 Batch Operations CSV manifests carry it
 * (URL-encoded, with `+` for a space).
 * @throws URIError for malformed percent-encoding.
 */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}
