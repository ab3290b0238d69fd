// URLs as the config gives them. A URL may carry a user and password (`http://user:pw@host/`); the config
// refuses those for fetches, and anything that shows a URL shows it through redactUrl, so that a password
// that slipped in some other way (an old lock file) is still never printed.

/** Whether the URL names a user or a password. */
export function hasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(url);
  }
}

/** The URL with its user and password replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}
