// Pure. Nominal ("branded") types so that identifiers of different kinds cannot be mixed up.

/** Brand attaches a compile-time-only tag to a base type; there is no run-time cost. */
export type Brand<T, Tag extends string> = T & { readonly __brand: Tag };
