import fc from 'fast-check';

/**
 * The kinds of map a condition check must not read itself (it leaves them to cel-js): plain data
 * most often, then a null-prototype object, a Map, a class instance and an object whose own
 * `__proto__` key came from JSON. Shared by the PDP's property tests against cel-js.
 */
export const containerArb = fc.constantFrom('plain', 'plain', 'plain', 'null-proto', 'map', 'class', 'json-proto');

/** `fields` as a map of `kind`; `opaque` makes the class instance (each test's own class). */
export function container(kind: string, fields: Record<string, unknown>, opaque: () => object): unknown {
  switch (kind) {
    case 'null-proto':
      return Object.assign(Object.create(null), fields);
    case 'map':
      return new Map(Object.entries(fields));
    case 'class':
      return Object.assign(opaque(), fields);
    case 'json-proto':
      return Object.assign(JSON.parse('{"__proto__": 1}'), fields);
    default:
      return fields;
  }
}
