/**
 * Key names as words, the same however they are spelled: `AWS_SECRET_ACCESS_KEY`, `awsSecretAccessKey`,
 * `aws-secret-access-key` and `ａｗｓ＿ｓｅｃｒｅｔ…` (fullwidth) are the words aws, secret, access, key.
 *
 * 1. NFKD (compatibility forms: fullwidth and mathematical letters, ligatures, circled letters…),
 *    then every mark and invisible character is dropped: combining accents, zero-width spaces and
 *    joiners, word joiner, BOM, soft hyphen, variation selectors, Hangul fillers, tag characters
 *    (`\p{M}`, `\p{Cf}`, `\p{Default_Ignorable_Code_Point}`). `pass\u200bword` is `password`.
 * 2. Latin look-alikes from Cyrillic and Greek (`pаssword` with a Cyrillic а) become Latin.
 * 3. Word boundaries: between a lower-case letter or digit and an upper-case letter (`apiKey`), at
 *    the end of an upper-case run before a capitalised word (`APIKey`), between letters and digits
 *    (`password2`), and at every character that is not a letter or a digit (spaces of any kind,
 *    `_ - . : / $ …`).
 * 4. Case folding (upper then lower case, so `ß` is `ss` and the dotless `ı` is `i`), then NFKC.
 *
 * A plain lower-case ASCII key (the common case) takes none of the Unicode paths.
 */

const SIMPLE = /^[a-z]+$/;
const ASCII = /^[\x20-\x7e]*$/;
const INVISIBLE = /[\p{M}\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
/** The places between two words of one run of letters and digits (lookarounds: matches never overlap). */
const BOUNDARY = /(?<=[\p{Ll}\p{Nd}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})|(?<=\p{L})(?=\p{Nd})|(?<=\p{Nd})(?=\p{L})/gu;
const NOT_WORD = /[^\p{L}\p{N}]+/u;

/** Cyrillic and Greek letters that look like Latin ones (both cases), and the Latin letter. */
const LOOK_ALIKES: ReadonlyMap<string, string> = new Map(
  [
    ['АВЕКМНОРСТХУЅІЈԚԜ', 'ABEKMHOPCTXYSIJQW'],
    ['аеорсухѕіјԁһԛԝӏ', 'aeopcyxsijdhqwl'],
    ['ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ', 'ABEZHIKMNOPTYX'],
    ['αιονρυχκ', 'aiovpuxk'],
  ].flatMap(([from, to]) => [...from!].map((c, i) => [c, to![i]!] as const)),
);
const LOOK_ALIKE = new RegExp(`[${[...LOOK_ALIKES.keys()].join('')}]`, 'gu');

/** The words of a key name, folded (see above). Empty when the key has no letter or digit. */
export function keyWords(key: string): string[] {
  if (SIMPLE.test(key)) return [key];
  const ascii = ASCII.test(key);
  let s = ascii ? key : key.normalize('NFKD').replace(INVISIBLE, '').replace(LOOK_ALIKE, (c) => LOOK_ALIKES.get(c)!);
  s = s.replace(BOUNDARY, ' ').toUpperCase().toLowerCase();
  // Case mapping can decompose again (`ǰ` upper-cases to J + a combining caron).
  if (!ascii) s = s.normalize('NFKD').replace(INVISIBLE, '').normalize('NFKC');
  return s.split(NOT_WORD).filter((w) => w.length > 0);
}

/** The key with its words run together: `pass_word`, `PassWord` and `pass\u200bword` are `password`. */
export function squashKey(key: string): string {
  return SIMPLE.test(key) ? key : keyWords(key).join('');
}
