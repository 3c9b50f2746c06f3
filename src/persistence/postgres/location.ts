/**
 * PostgreSQL store locations: `postgresql://user:password@host:port/db`
 * (or `postgres://`), with an optional `schema=NAME` query parameter. A
 * location may carry a password, so whatever is shown of one (errors, logs,
 * `stats`, the live view) goes through `maskLocation` first.
 */

const URL_START = /^postgres(?:ql)?:\/\//i;
// user:password@ in a postgres URL, anywhere in a text.
const CREDENTIALS = /(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@/\s]*@/gi;
// A password given as a query parameter (`?password=...`, `&sslpassword=...`), anywhere in a text.
const PASSWORD_PARAMETER = /([?&](?:ssl)?password=)[^&#\s]*/gi;

export function isPostgresLocation(location: string): boolean {
  return URL_START.test(location);
}

/** The text with the password of every PostgreSQL URL in it (user:password@, or a password= parameter) replaced by `***`. */
export function maskLocation(text: string): string {
  return text.replace(CREDENTIALS, '$1***@').replace(PASSWORD_PARAMETER, '$1***');
}
