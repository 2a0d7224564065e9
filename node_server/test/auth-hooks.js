// An operator's auth module, as the CLI loads it with AUTH_MODULE=... (cli.test.js): API keys
// from a table, and spaces named team-<name> open only to that team's members.
const KEYS = { 'key-of-ann': 'ann', 'key-of-ben': 'ben' };
const TEAMS = { red: ['ann'], blue: ['ann', 'ben'] };

/** The user of a request: its token is an API key (push/pull: Authorization; poke: ?auth=). */
export async function authenticate(request, { token }) {
  return KEYS[token] ?? null;
}

/** team-<name> spaces: members only; everything else is open. */
export async function authorize(userID, space) {
  const team = /^team-(.+)$/.exec(space)?.[1];
  if (team === undefined) return true;
  return TEAMS[team]?.includes(userID) ?? false;
}
