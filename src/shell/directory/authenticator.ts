/**
 * Checks a login and password against the directory. Implemented by LdifDirectory (userPassword
 * hashes in the file) and LdapDirectory (a simple bind as the user), so the shell's login page
 * works the same on a real SE3 server and on a laptop with a fixture.
 */
export interface Authenticator {
  /**
   * True only for a valid login whose password matches. False for a wrong password, an unknown
   * or malformed login, or an empty password (never an anonymous bind). Throws only when the
   * directory cannot be reached, so callers can tell "refused" from "unavailable".
   */
  authenticate(login: string, password: string): Promise<boolean>;
}
